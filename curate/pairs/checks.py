"""What must survive translation, measured on both sides of a pair: numbers, addresses, names, the kind of sentence,
how many sentences, how long. Each function takes a text column and returns polars expressions or series for a
whole batch.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache

import polars as pl

from curate.quality.measures import PUNCTUATION_END

# A number as written: digits of any script, with the group and decimal separators of any locale inside it.
NUMBER = r"\p{Nd}(?:[\p{Nd}.,:'\u00a0\u202f\u2009]*\p{Nd})?"
URL_OR_EMAIL = r"(?i)\b(?:https?://|www\.)[^\s<>\"]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
QUESTION_END = r"[?？؟⸮;՞][\p{Pe}\p{Pf}\"'»」』]*\s*$"
STATEMENT_END = r"[.。।॥۔።။។][\p{Pe}\p{Pf}\"'»」』]*\s*$"
# A sentence boundary inside a text: an end mark, space, and a letter or opening mark.
BOUNDARY = (
    r"(?:[.!?।؟۔።။។][\p{Pe}\p{Pf}\"'»」』]*\s+|[。！？][」』]*\s*)"  # CJK full stops need no space after them
    r"[\p{Lu}\p{Lo}\p{Pi}\p{Ps}\"'¿¡]"
)
NAME = r"[^\p{L}\p{N}.!?¿¡\s]\s*\p{Lu}\p{Ll}{2,}|[\p{L}\p{N},;:]\s+\p{Lu}\p{Ll}{2,}"  # capitalised, not first


@cache
def _ascii_digits() -> dict[str, str]:
    """Every decimal digit of every script (Unicode Nd) as its ASCII digit."""
    return {
        chr(c): str(unicodedata.digit(chr(c)))
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) == "Nd" and not chr(c).isascii()
    }


def numbers(column: pl.Expr) -> pl.Expr:
    """The numbers of a text as ASCII digit strings without separators or leading zeros, sorted (`1,000.5` and
    `1.000,5` are both `10005`, `10:30` and `10.30` both `1030`, `03` is `3`, `٣` is `3`)."""
    digits = _ascii_digits()
    found = column.fill_null("").str.extract_all(NUMBER)
    return found.list.eval(
        pl.element()
        .str.replace_many(list(digits), list(digits.values()))
        .str.replace_all(r"\D", "")
        .str.replace(r"^0+(\d)", "$1")
    ).list.sort()


def addresses(column: pl.Expr) -> pl.Expr:
    """URLs and email addresses, lower-cased and sorted: they are not translated."""
    return (
        column.fill_null("")
        .str.extract_all(URL_OR_EMAIL)
        .list.eval(pl.element().str.to_lowercase().str.strip_chars_end(".,;:!?)"))
        .list.sort()
    )


def numbers_differ(src: pl.Expr, tgt: pl.Expr) -> pl.Expr:
    """The two sides' numbers differ, beyond one-digit numbers a language may spell out ("3 cats" -> "trois chats"):
    a number of two or more digits on one side only, or a side with numbers that the other side's don't match."""
    a, b = numbers(src), numbers(tgt)
    only_a = a.list.set_difference(b)
    only_b = b.list.set_difference(a)
    long_missing = (
        only_a.list.eval(pl.element().str.len_chars() >= 2).list.any()
        | only_b.list.eval(pl.element().str.len_chars() >= 2).list.any()
    )
    both_have = (a.list.len() > 0) & (b.list.len() > 0)
    return (long_missing | (both_have & (a != b))).fill_null(False)


def addresses_differ(src: pl.Expr, tgt: pl.Expr) -> pl.Expr:
    return (addresses(src) != addresses(tgt)).fill_null(False)


def kind_of_sentence(column: pl.Expr) -> pl.Expr:
    """`question`, `statement` or null (an exclamation, no end mark, or a script that marks neither at the end)."""
    col = column.fill_null("")
    return (
        pl.when(col.str.contains(QUESTION_END))
        .then(pl.lit("question"))
        .when(col.str.contains(STATEMENT_END))
        .then(pl.lit("statement"))
    )


def ends_sentence(column: pl.Expr) -> pl.Expr:
    """The text ends as a sentence does, in its script (as the quality step counts line endings)."""
    return column.fill_null("").str.strip_chars().str.contains(PUNCTUATION_END.removeprefix("(?m)"))


def sentence_count(column: pl.Expr) -> pl.Expr:
    return column.fill_null("").str.count_matches(BOUNDARY) + 1


def letters(column: pl.Expr) -> pl.Expr:
    """Characters other than white space: the length compared across languages."""
    return column.fill_null("").str.count_matches(r"\S")


def names(column: pl.Expr) -> pl.Expr:
    """Capitalised words that do not start a sentence (names, mostly)."""
    return column.fill_null("").str.extract_all(NAME).list.eval(pl.element().str.extract(r"(\p{Lu}\p{Ll}+)$", 1))


def name_skeletons(names: pl.Series) -> pl.Series:
    """Names (a list per row) as their consonant skeletons, transliterated to ASCII first, those of two letters."""
    from anyascii import anyascii

    ascii_names = pl.Series(
        [[anyascii(n) for n in row] if row else [] for row in names.to_list()], dtype=pl.List(pl.String)
    )
    return pl.select(
        ascii_names.list.eval(skeleton(pl.element()))
        .list.eval(pl.element().filter(pl.element().str.len_chars() == 2))
        .list.unique(maintain_order=True)
    ).to_series()


def skeleton(words: pl.Expr) -> pl.Expr:
    """The first two consonants of a word in ASCII, with c/q as k: what survives inflection and transliteration of a
    name (Mary, Мэри, Meri, メアリー -> `mr`; Tom, Тому, トム -> `tm`; October, Oktober -> `kt`)."""
    consonants = words.str.to_lowercase().str.replace_all(r"[cq]", "k").str.replace_all(r"[^b-df-hj-np-tv-xz]", "")
    return consonants.str.slice(0, 2)


def transliterated_skeletons(texts: pl.Series) -> pl.Series:
    """The skeletons of every word of each text, transliterated to ASCII first (anyascii)."""
    from anyascii import anyascii

    words = pl.Series([anyascii(text or "").split() for text in texts.to_list()], dtype=pl.List(pl.String))
    skeletons = words.list.eval(skeleton(pl.element())).list.eval(pl.element().filter(pl.element().str.len_chars() > 0))
    return pl.select(skeletons.list.unique(maintain_order=True)).to_series()


def cognate_overlap(src: pl.Series, tgt: pl.Series) -> pl.Series:
    """Share of the source's words (4+ letters, transliterated to ASCII) whose first four letters start a word of the
    target: names, numbers written out, loanwords and cognates, which a translation keeps and another sentence's
    translation mostly does not."""
    from anyascii import anyascii

    def heads(texts: pl.Series) -> pl.Series:
        ascii_texts = pl.Series([anyascii(t or "").lower() for t in texts.to_list()], dtype=pl.String)
        return ascii_texts.str.extract_all(r"[a-z]{4,}").list.eval(pl.element().str.slice(0, 4)).list.unique()

    frame = pl.DataFrame({"s": heads(src), "t": heads(tgt)})
    shared = pl.col("s").list.set_intersection(pl.col("t")).list.len()
    return frame.select((shared / pl.col("s").list.len().clip(1)).cast(pl.Float64)).to_series()
