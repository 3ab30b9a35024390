"""Word splitting as polars expressions, consistent with `curate.core.text.word_count`.

Space-delimited scripts split into the same words `word_count` counts; Chinese and Japanese give one token per Han or
kana character (as `word_count` counts them). Thai, Lao, Khmer, Myanmar and Tibetan need a dictionary segmenter to be
split into words, so a run of those letters (a phrase between spaces) is one token: repetition of phrases is still
seen, while `word_count` estimates their number of words from the letters.
"""

from __future__ import annotations

import polars as pl

from curate.core.text import CJK, SOUTHEAST_ASIAN, SPACED_WORD

TOKEN = rf"{SPACED_WORD}|[{CJK}]|[{SOUTHEAST_ASIAN}]+"


def _col(column: str | pl.Expr) -> pl.Expr:
    return pl.col(column) if isinstance(column, str) else column


def tokens(column: str | pl.Expr) -> pl.Expr:
    """Lower-cased tokens of a text of any script (a list per row): the unit of n-grams and stop-word matching."""
    return _col(column).str.to_lowercase().str.extract_all(TOKEN)


def single_tokens(words: list[str]) -> list[str]:
    """The lower-cased entries that are exactly one token (list entries with spaces or stray punctuation can't match
    a token, so they are left out)."""
    series = pl.Series("w", words, dtype=pl.String).str.to_lowercase()
    found = series.str.extract_all(TOKEN)
    keep = (found.list.len() == 1) & (found.list.first() == series)
    return series.filter(keep.fill_null(False)).unique(maintain_order=True).to_list()
