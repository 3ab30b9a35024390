"""Curation steps, one per module; `curate.registry` imports them all (and so registers them) when first asked."""
