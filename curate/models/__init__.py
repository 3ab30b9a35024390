"""Models on this machine, for every part of curate that runs one (translation, paraphrasing, language ID, the
content classifier, training): where a model is (`locate`), loading Transformers models and tokenizers quietly on
the right device (`hf`), and tiny local models built in seconds for the tests and the quick starts (`tiny`).
"""
