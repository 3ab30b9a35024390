"""Seeded hashes of strings that are stable across runs, machines and library versions (xxh3; polars' own hash may
change between versions). Splits, balancing and review sampling all choose rows with them."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xxhash

_MASK64 = (1 << 64) - 1


def seeded_hashes(keys: Iterable[str], seed: int, count: int = -1) -> np.ndarray:
    """One uint64 per key."""
    seed &= _MASK64
    return np.fromiter(
        (xxhash.xxh3_64_intdigest(k.encode("utf-8", "surrogatepass"), seed=seed) for k in keys),
        dtype=np.uint64,
        count=count,
    )
