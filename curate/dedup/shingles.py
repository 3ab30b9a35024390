"""Text to shingle hashes, a whole batch at a time, for every script.

Texts are cut into tokens: words for scripts written with spaces, characters for Chinese, Japanese, Thai, Lao,
Khmer, Myanmar and Tibetan; every run of `n` consecutive tokens (a shingle) gets a 32-bit hash. One compiled pass
(`curate.dedup.kernels`) over the UTF-8 bytes of a chunk of texts does it all, with no Python call per text or token:

- a table built once from polars' Unicode classes (the ones `normalized` uses) gives each code point's class:
  whitespace, punctuation or symbol, letter of a script without spaces, other letter, other;
- lowercasing is a table lookup per code point (polars' lowercase of each character; final sigma folds to sigma);
- words are the runs of characters between whitespace (and punctuation, when it is folded); for characters,
  punctuation and whitespace are folded on the code points exactly as `normalized` folds strings;
- a word's value is `fmix64` (MurmurHash3's finaliser) of the polynomial hash `sum((cp_k + 1) * B^k) mod 2^64` of
  its code points; a character's value is its code point + 1;
- a shingle's hash is `fmix64(sum(value_i * B^i) mod 2^64) >> 32` over its tokens.

The hashing is fixed (it does not depend on the Python, polars or numpy version), so signatures saved by one run can
be compared with a later run's; the character tables follow polars' Unicode data, which only moves for characters new
to a Unicode version. `shingle_hash32` is the same function on one shingle in pure Python: passed to
`datasketch.MinHash(hashfunc=...)`, it gives the signatures that `curate.dedup.minhash` computes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Literal

import numpy as np
import polars as pl

from curate.core.text import NO_SPACE, utf8_buffers

Mode = Literal["char", "word"]
Tokenize = Literal["auto", "char", "word"]

MASK64 = (1 << 64) - 1
FMIX_C1, FMIX_C2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53  # MurmurHash3's fmix64
BASE = 0x100000001B3  # FNV-1a's 64-bit prime: odd, so invertible modulo 2^64
WORD_SALT = 0xD6E8FEB86659FD93
MAX_NGRAM = 64

# Classes of code points.
OTHER, SPACE, PUNCT, NO_SPACE_LETTER, LETTER = 0, 1, 2, 3, 4
SPACE_CP = 0x20
CLASSIFIED = 0x40000  # planes 4-16 hold no letters, punctuation, symbols or spaces: all OTHER

# Bytes of text per chunk hashed at once (its output buffer takes four times as much).
CHUNK_BYTES = 1 << 22


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


@lru_cache(maxsize=2)
def compared_code_points(lowercase: bool) -> tuple[np.ndarray, np.ndarray]:
    """(the code point each one is compared as, that one's class): one lookup each per character in the kernel."""
    lower = lowercase_table() if lowercase else np.arange(0x110000, dtype=np.uint32)
    return lower, char_classes()[lower]


def casefold(text: str) -> str:
    """`lowercase_table` on a Python string (the reference for tests)."""
    table = lowercase_table()
    return "".join(chr(table[ord(c)]) for c in text)


# batches (the compiled kernel) ---------------------------------------------------------------------------
def batch_shingles(
    texts: pl.Series,
    tokenize: Tokenize,
    n: int,
    lowercase: bool = True,
    fold_punctuation: bool = True,
    fold_whitespace: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(shingle hashes of all texts in order, shingles per text), hashed by the compiled kernel straight from the
    texts' UTF-8 bytes, in chunks that run on every core.

    `tokenize: auto` shingles the characters of a text when at least half its letters are in scripts written
    without spaces, its words otherwise."""
    if n < 1 or n > MAX_NGRAM:
        raise ValueError(f"ngram must be between 1 and {MAX_NGRAM}")
    from curate.dedup import kernels  # it compiles what this module defines

    data, offsets = utf8_buffers(texts)
    mode = {"word": kernels.WORD, "char": kernels.CHAR, "auto": kernels.AUTO}[tokenize]
    lower, kinds = compared_code_points(lowercase)

    def run(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = bounds
        chunk = offsets[lo : hi + 1]
        out = np.empty(int(chunk[-1] - chunk[0]) + (hi - lo), dtype=np.uint32)
        counts = np.empty(hi - lo, dtype=np.int64)
        used = kernels.shingle_hashes(
            data, chunk, mode, n, lower, kinds, char_classes(), fold_punctuation, fold_whitespace, out, counts
        )
        return out[:used], counts

    chunks = list(_chunks(np.diff(offsets), CHUNK_BYTES))
    with ThreadPoolExecutor(max_workers=max(1, min(len(chunks), os.cpu_count() or 1))) as pool:
        done = list(pool.map(run, chunks))
    if not done:
        return np.empty(0, dtype=np.uint32), np.empty(0, dtype=np.int64)
    return np.concatenate([h for h, _ in done]), np.concatenate([c for _, c in done])


def _chunks(sizes: np.ndarray, budget: int) -> Iterator[tuple[int, int]]:
    """Consecutive [lo, hi) ranges of texts of about `budget` bytes each (at least one text)."""
    ends = np.cumsum(sizes)
    lo = 0
    while lo < len(sizes):
        base = ends[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(ends, base + budget, side="right")), lo + 1)
        yield lo, hi
        lo = hi


# pure-Python reference (for datasketch, tests and debugging) ---------------------------------------------------
def _fmix64_int(x: int) -> int:
    x ^= x >> 33
    x = (x * FMIX_C1) & MASK64
    x ^= x >> 33
    x = (x * FMIX_C2) & MASK64
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
