"""curate: multilingual fine-tuning datasets, accounted row by row."""

__version__ = "0.1.0"
