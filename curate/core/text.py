"""Pure text measures as polars expressions, written for every script, not just the ones that use spaces."""

from __future__ import annotations

import numpy as np
import polars as pl

# Scripts written without spaces between words.
CJK = r"\p{Han}\p{Hiragana}\p{Katakana}"
SOUTHEAST_ASIAN = r"\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}"
NO_SPACE = CJK + SOUTHEAST_ASIAN

# Letters per word in Thai, Lao, Khmer, Myanmar and Tibetan when counting only base letters (not combining marks):
# an estimate, since splitting these scripts into words needs a dictionary segmenter.
SOUTHEAST_ASIAN_LETTERS_PER_WORD = 3.0

_WORD_CHAR = rf"[[\p{{L}}\p{{N}}\p{{M}}]--[{NO_SPACE}]]"
SPACED_WORD = rf"{_WORD_CHAR}+(?:['’\-]{_WORD_CHAR}+)*"


def word_count(column: str | pl.Expr) -> pl.Expr:
    """Words in a text of any script.

    Space-delimited scripts count runs of letters and digits (`don't`, `e-mail` are one word); Chinese and Japanese
    count one word per Han or kana character (as CJK tokenizers do); Thai, Lao, Khmer, Myanmar and Tibetan count
    base letters / 3, at least one word per run of such letters. Punctuation and symbols are never words.
    """
    col = pl.col(column) if isinstance(column, str) else column
    spaced = col.str.count_matches(SPACED_WORD)
    cjk = col.str.count_matches(rf"[{CJK}]")
    sea_letters = col.str.count_matches(rf"[[{SOUTHEAST_ASIAN}]--\p{{M}}]")
    sea_runs = col.str.count_matches(rf"[{SOUTHEAST_ASIAN}]+")
    sea = pl.max_horizontal((sea_letters / SOUTHEAST_ASIAN_LETTERS_PER_WORD).round(0).cast(pl.UInt32), sea_runs)
    return (spaced + cjk + sea).cast(pl.UInt32)


def char_count(column: str | pl.Expr) -> pl.Expr:
    """Characters (Unicode code points)."""
    col = pl.col(column) if isinstance(column, str) else column
    return col.str.len_chars()


def utf8_buffers(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of all texts (null as empty) and where each starts in them (len + 1 offsets), from the Arrow
    buffers: for code that hashes or scans the bytes of a whole column without a Python string per row."""
    array = texts.fill_null("").cast(pl.String).to_arrow(compat_level=pl.CompatLevel.oldest())
    _, offsets, data = array.buffers()
    start = array.offset
    offsets = np.frombuffer(offsets, dtype=np.int64)[start : start + len(array) + 1]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, dtype=np.uint8)
    return data, offsets
