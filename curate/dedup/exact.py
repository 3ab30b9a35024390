"""Exact duplicates: a 128-bit xxHash (XXH3) of the normalised text of each row.

The hash is kept as a signature of four uint32 values so that exact and near-duplicate dedup share the banding,
clustering and signature store: exact dedup is one band of the whole hash, verified by equality. 128 bits make a
false match between different texts practically impossible (about n^2 / 2^129).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import xxhash

WIDTH = 4  # uint32 values per exact "signature"


def content_hashes(texts: pl.Series) -> np.ndarray:
    """(n, 4) uint32: XXH3-128 of each text's UTF-8 bytes (a null text hashes like the empty text)."""
    digest = xxhash.xxh3_128_digest
    data = b"".join([digest(t.encode("utf-8")) for t in texts.fill_null("").to_list()])
    return np.frombuffer(data, dtype=">u4").astype(np.uint32).reshape(-1, WIDTH)
