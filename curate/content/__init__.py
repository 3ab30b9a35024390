"""Unfit content (offensive, sexual, hateful text): word lists per language and category, allow-lists, and an
optional local classifier. The `content` step uses them."""
