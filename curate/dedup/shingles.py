"""Text to shingle hashes, a whole batch at a time, for every script.

Texts are cut into tokens: words for scripts written with spaces, characters for Chinese, Japanese, Thai, Lao,
Khmer, Myanmar and Tibetan; every run of `n` consecutive tokens (a shingle) gets a 32-bit hash. The work runs in
numpy over the code points of a chunk of texts (one `str.encode` per chunk; no Python call per text or token), with
as few passes over them as possible:

- a table built once from polars' Unicode classes (the ones `normalized` uses) gives each code point's class:
  whitespace, punctuation or symbol, letter of a script without spaces, other letter, other;
- lowercasing is a table lookup per code point (polars' lowercase of each character; final sigma folds to sigma);
- words are the runs of characters between whitespace (and punctuation, when it is folded); for characters,
  punctuation and whitespace are folded on the code points exactly as `normalized` folds strings;
- a word's value is `fmix64` (MurmurHash3's finaliser) of the polynomial hash `sum((cp_k + 1) * B^k) mod 2^64` of
  its code points; a character's value is its code point + 1;
- a shingle's hash is `fmix64(sum(value_i * B^i) mod 2^64) >> 32` over its tokens.
Both polynomials come from one prefix sum per chunk (`P[j] = sum_{i<j} v_i B^i`; a range is `(P[b] - P[a]) * B^-a`,
B being odd and so invertible modulo 2^64), so a word or a shingle costs O(1) whatever its length.

The hashing is fixed (it does not depend on the Python, polars or numpy version), so signatures saved by one run can
be compared with a later run's; the character tables follow polars' Unicode data, which only moves for characters new
to a Unicode version. `shingle_hash32` is the same function on one shingle in pure Python: passed to
`datasketch.MinHash(hashfunc=...)`, it gives the signatures that `curate.dedup.minhash` computes.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Literal

import numpy as np
import polars as pl

from curate.text import NO_SPACE

Mode = Literal["char", "word"]
Tokenize = Literal["auto", "char", "word"]

MASK64 = (1 << 64) - 1
_C1, _C2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53
BASE = 0x100000001B3  # FNV-1a's 64-bit prime: odd, so invertible modulo 2^64
BASE_INV = pow(BASE, -1, 1 << 64)
WORD_SALT = 0xD6E8FEB86659FD93
MAX_NGRAM = 64

# Classes of code points.
OTHER, SPACE, PUNCT, NO_SPACE_LETTER, LETTER = 0, 1, 2, 3, 4
SPACE_CP = 0x20
CLASSIFIED = 0x40000  # planes 4-16 hold no letters, punctuation, symbols or spaces: all OTHER

# Characters per chunk of a batch: bounds the numpy temporaries (a few 8-byte arrays of this length).
CHUNK_CHARS = 1 << 21


# normalisation (polars, on strings) ----------------------------------------------------------------------------
def normalized(expr: pl.Expr, lowercase: bool, fold_punctuation: bool, fold_whitespace: bool) -> pl.Expr:
    """The text as it is compared: optionally lowercased, punctuation and symbols made spaces, whitespace collapsed."""
    if lowercase:
        expr = expr.str.to_lowercase()
    if fold_punctuation:
        expr = expr.str.replace_all(r"[\p{P}\p{S}]+", " ")
    if fold_whitespace:
        expr = expr.str.replace_all(r"\s+", " ").str.strip_chars()
    return expr.fill_null("")


def no_space_script(texts: pl.Series) -> np.ndarray:
    """Whether at least half the letters of each text belong to a script written without spaces (Han, kana, Thai,
    Lao, Khmer, Myanmar, Tibetan)."""
    out = np.zeros(len(texts), dtype=bool)
    maybe = np.flatnonzero(texts.str.contains(rf"[{NO_SPACE}]").fill_null(False).to_numpy())  # one quick scan
    if maybe.size:
        subset = texts.gather(maybe)
        no_space = subset.str.count_matches(rf"[[{NO_SPACE}]&&\p{{L}}]").to_numpy()
        letters = subset.str.count_matches(r"\p{L}").to_numpy()
        out[maybe] = (no_space > 0) & (no_space * 2 >= letters)
    return out


@lru_cache(maxsize=1)
def char_classes() -> np.ndarray:
    """The class of every code point (uint8, indexed by code point), from polars' regex Unicode classes."""
    cps = np.arange(CLASSIFIED, dtype=np.uint32)
    cps[0xD800:0xE000] = 0xFFFD  # surrogates cannot be encoded; they never occur in polars strings anyway
    chars = pl.Series(list(cps.astype("<u4").tobytes().decode("utf-32-le")), dtype=pl.String)
    frame = chars.to_frame("c").select(
        pl.col("c").str.contains(r"^\s$").alias("space"),
        pl.col("c").str.contains(r"^[\p{P}\p{S}]$").alias("punct"),
        pl.col("c").str.contains(rf"^[{NO_SPACE}]$").alias("no_space"),
        pl.col("c").str.contains(r"^\p{L}$").alias("letter"),
    )
    classes = np.full(0x110000, OTHER, dtype=np.uint8)
    letter = frame["letter"].to_numpy()
    classes[:CLASSIFIED][letter] = LETTER
    classes[:CLASSIFIED][letter & frame["no_space"].to_numpy()] = NO_SPACE_LETTER
    classes[:CLASSIFIED][frame["punct"].to_numpy()] = PUNCT
    classes[:CLASSIFIED][frame["space"].to_numpy()] = SPACE
    classes[0xD800:0xE000] = OTHER
    return classes


@lru_cache(maxsize=1)
def lowercase_table() -> np.ndarray:
    """Every code point's lowercase (uint32), from polars' `to_lowercase` of the single character; characters
    whose lowercase is several characters (U+0130) keep their code point, and final sigma folds to sigma."""
    cps = np.arange(CLASSIFIED, dtype=np.uint32)
    cps[0xD800:0xE000] = 0xFFFD
    lowered = pl.Series(list(cps.astype("<u4").tobytes().decode("utf-32-le")), dtype=pl.String).str.to_lowercase()
    single = (lowered.str.len_chars() == 1).to_numpy()
    table = np.arange(0x110000, dtype=np.uint32)
    mapped = np.frombuffer("".join(lowered.filter(pl.Series(single)).to_list()).encode("utf-32-le"), dtype=np.uint32)
    table[np.flatnonzero(single)] = mapped
    table[0xD800:0xE000] = np.arange(0xD800, 0xE000, dtype=np.uint32)
    table[0x03C2] = 0x03C3  # ς -> σ: the same word, in any case
    return table


def casefold(text: str) -> str:
    """`lowercase_table` on a Python string (the reference for tests)."""
    table = lowercase_table()
    return "".join(chr(table[ord(c)]) for c in text)


@lru_cache(maxsize=2)
def separators(fold_punctuation: bool) -> np.ndarray:
    """Whether each code point separates words (whitespace; punctuation and symbols too when folded)."""
    classes = char_classes()
    return (classes == SPACE) | (classes == PUNCT) if fold_punctuation else classes == SPACE


# numpy hashing -------------------------------------------------------------------------------------------------
def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser on a uint64 array (wrapping multiplication is the intended mod 2^64)."""
    x = x ^ (x >> np.uint64(33))
    x *= np.uint64(_C1)
    x ^= x >> np.uint64(33)
    x *= np.uint64(_C2)
    x ^= x >> np.uint64(33)
    return x


_POWERS: list[np.ndarray] = [np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64)]


def powers(m: int) -> tuple[np.ndarray, np.ndarray]:
    """(BASE^i, BASE^-i) mod 2^64 for i in 0..m-1 (cached, grown by doubling)."""
    if len(_POWERS[0]) < m:
        size = max(m, 2 * len(_POWERS[0]), 1 << 16)
        for k, base in enumerate((BASE, BASE_INV)):
            p = np.full(size, base, dtype=np.uint64)
            p[0] = 1
            _POWERS[k] = np.cumprod(p, dtype=np.uint64)
    return _POWERS[0][:m], _POWERS[1][:m]


def polynomial_ranges(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum(values[i] * BASE^(i - a)) over i in [a, b), for many ranges at once (uint64, mod 2^64)."""
    up, down = powers(values.size + 1)
    prefix = np.zeros(values.size + 1, dtype=np.uint64)
    np.cumsum(values * up[: values.size], dtype=np.uint64, out=prefix[1:])
    return (prefix[b] - prefix[a]) * down[a]


def codepoints(texts: pl.Series, separator: str = "", lowercase: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The code points of all texts joined by `separator` (uint32, lowercased with `lowercase_table` if asked),
    and the number of code points of each text."""
    lengths = texts.str.len_chars().fill_null(0).to_numpy().astype(np.int64)
    joined = separator.join(texts.fill_null("").to_list())
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    return (lowercase_table()[cps] if lowercase else cps), lengths


def fold(cps: np.ndarray, lengths: np.ndarray, fold_punctuation: bool,
         fold_whitespace: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """`normalized`'s folding on code points: runs of punctuation (and whitespace) become one space, ends trimmed.
    Returns the new code points and lengths."""
    if not (fold_punctuation or fold_whitespace) or cps.size == 0:
        return cps, lengths
    classes = char_classes()[cps]
    spacey = np.zeros(cps.size, dtype=bool)
    if fold_whitespace:
        spacey |= classes == SPACE
    if fold_punctuation:
        spacey |= classes == PUNCT
    doc = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[lengths > 0]
    run_start = spacey.copy()
    run_start[1:] &= ~spacey[:-1]
    run_start[starts] = spacey[starts]
    keep = ~spacey | run_start
    if fold_whitespace:  # trim: drop runs before the first and after the last other character of each text
        solid = np.flatnonzero(~spacey)
        solid_doc = doc[solid]
        has = np.flatnonzero(np.bincount(solid_doc, minlength=len(lengths)))
        first = np.full(len(lengths), cps.size, dtype=np.int64)
        last = np.full(len(lengths), -1, dtype=np.int64)
        first[has] = solid[np.searchsorted(solid_doc, has, side="left")]
        last[has] = solid[np.searchsorted(solid_doc, has, side="right") - 1]
        index = np.arange(cps.size)
        keep &= ~spacey | ((index > first[doc]) & (index < last[doc]))
    out = np.where(spacey, np.uint32(SPACE_CP), cps)[keep]
    return out, np.bincount(doc[keep], minlength=len(lengths)).astype(np.int64)


def word_tokens(texts: pl.Series, lowercase: bool, fold_punctuation: bool) -> tuple[np.ndarray, np.ndarray]:
    """One value per word (uint64) of all texts, in order, and the number of words of each text."""
    cps, lengths = codepoints(texts, "\n", lowercase)  # the line break keeps a word from running into the next text
    if cps.size == 0:
        return np.empty(0, dtype=np.uint64), np.zeros(len(lengths), dtype=np.int64)
    solid = ~separators(fold_punctuation)[cps]
    edges = np.diff(solid.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    values = fmix64(polynomial_ranges(cps.astype(np.uint64) + np.uint64(1), starts, ends) + np.uint64(WORD_SALT))
    doc_starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    doc_of_word = np.searchsorted(doc_starts, starts, side="right") - 1
    return values, np.bincount(doc_of_word, minlength=len(lengths)).astype(np.int64)


def char_tokens(texts: pl.Series, lowercase: bool, fold_punctuation: bool,
                fold_whitespace: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One value per character (code point + 1, after folding) of all texts, and the number of each text's."""
    cps, lengths = fold(*codepoints(texts, "", lowercase), fold_punctuation, fold_whitespace)
    return cps.astype(np.uint64) + np.uint64(1), lengths


def shingle_hashes(values: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every run of `n` consecutive tokens of each text (one run of all its tokens for a text with
    fewer than `n`; none for a text without tokens), in text order, and the number of shingles of each text."""
    counts = counts.astype(np.int64)
    per_doc = np.where(counts >= n, counts - n + 1, np.minimum(counts, 1))
    doc_starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    first = np.repeat(doc_starts, per_doc) + ramp(per_doc)
    last = first + np.repeat(np.minimum(counts, n), per_doc)
    sums = polynomial_ranges(values, first, last)
    return (fmix64(sums) >> np.uint64(32)).astype(np.uint32), per_doc


def ramp(k: np.ndarray) -> np.ndarray:
    """0..k[0]-1, 0..k[1]-1, ... concatenated."""
    total = int(k.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(k)[:-1]))
    return np.arange(total, dtype=np.int64) - np.repeat(starts, k)


def batch_shingles(texts: pl.Series, tokenize: Tokenize, n: int, lowercase: bool = True, fold_punctuation: bool = True,
                   fold_whitespace: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:  # fmt: skip
    """(text indices, shingle hashes, shingles per text) for chunks of texts.

    `tokenize: auto` shingles the characters of a text when at least half its letters are in scripts written
    without spaces, its words otherwise."""
    if n < 1 or n > MAX_NGRAM:
        raise ValueError(f"ngram must be between 1 and {MAX_NGRAM}")
    texts = texts.fill_null("")
    if tokenize == "auto":
        is_char = no_space_script(texts)
        groups = [("char", np.flatnonzero(is_char)), ("word", np.flatnonzero(~is_char))]
    else:
        groups = [(tokenize, np.arange(len(texts)))]
    for mode, rows in groups:
        if rows.size == 0:
            continue
        subset = texts if rows.size == len(texts) else texts.gather(rows)
        lengths = subset.str.len_chars().to_numpy()
        for lo, hi in _chunks(lengths, CHUNK_CHARS):
            chunk = subset.slice(lo, hi - lo)
            if mode == "char":
                values, counts = char_tokens(chunk, lowercase, fold_punctuation, fold_whitespace)
            else:
                values, counts = word_tokens(chunk, lowercase, fold_punctuation)
            hashes, per_doc = shingle_hashes(values, counts, n)
            yield rows[lo:hi], hashes, per_doc


def _chunks(lengths: np.ndarray, budget: int) -> Iterator[tuple[int, int]]:
    """Consecutive [lo, hi) ranges of texts with about `budget` characters each (at least one text)."""
    ends = np.cumsum(lengths)
    lo = 0
    while lo < len(lengths):
        base = ends[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(ends, base + budget, side="right")), lo + 1)
        yield lo, hi
        lo = hi


# pure-Python reference (for datasketch, tests and debugging) ---------------------------------------------------
def _fmix64_int(x: int) -> int:
    x ^= x >> 33
    x = (x * _C1) & MASK64
    x ^= x >> 33
    x = (x * _C2) & MASK64
    return x ^ (x >> 33)


def _polynomial(values: list[int]) -> int:
    return sum(v * pow(BASE, i, 1 << 64) for i, v in enumerate(values)) & MASK64


def token_value(token: str, mode: Mode) -> int:
    """The 64-bit value of one token: a character (mode `char`) or a word (mode `word`)."""
    if mode == "char":
        return ord(token) + 1
    return _fmix64_int((_polynomial([ord(c) + 1 for c in token]) + WORD_SALT) & MASK64)


def shingle_hash32(shingle: tuple[str, ...] | str, mode: Mode = "word") -> int:
    """The 32-bit hash of one shingle (a tuple of words, or a string of characters in mode `char`)."""
    return _fmix64_int(_polynomial([token_value(t, mode) for t in shingle])) >> 32


def tokens(text: str, mode: Mode) -> list[str]:
    """Tokens of a text normalised by `normalized`, as `batch_shingles` cuts them."""
    return list(text) if mode == "char" else text.split()


def shingles(text: str, mode: Mode, n: int) -> list[tuple[str, ...]]:
    """The shingles of a normalised text, as `batch_shingles` hashes them (in order, repeats included)."""
    toks = tokens(text, mode)
    if len(toks) < n:
        return [tuple(toks)] if toks else []
    return [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
