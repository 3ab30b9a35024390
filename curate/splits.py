"""Deterministic, leak-free split assignment.

A row's split is a function of its group key and the seed only, so it never depends on batch boundaries or on the
other rows: all rows of a near-duplicate cluster (`dup_cluster`) or all synthetic rows of one parent (`_parent_id`)
share a key and therefore a split.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import xxhash

GROUP_COLUMNS = ("dup_cluster", "_parent_id", "_id")


def group_key(frame: pl.DataFrame, split_by: str | None) -> pl.Series:
    if split_by is not None:
        return frame[split_by].cast(pl.String).fill_null("")
    present = [pl.col(c).cast(pl.String) for c in GROUP_COLUMNS if c in frame.columns]
    return frame.select(pl.coalesce(present).alias("key"))["key"]


def uniform(keys: list[str], seed: int) -> np.ndarray:
    """A number in [0, 1) per key, stable across runs, machines and library versions (xxh3, not polars' hash)."""
    seed &= (1 << 64) - 1
    hashes = np.fromiter((xxhash.xxh3_64_intdigest(k.encode("utf-8", "surrogatepass"), seed=seed) for k in keys), dtype=np.uint64, count=len(keys))
    return (hashes >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def assign_splits(frame: pl.DataFrame, splits: dict[str, float], seed: int, split_by: str | None = None) -> pl.Series:
    """The split name of every row, by cumulative fractions in the order the recipe lists them."""
    names = list(splits)
    if len(names) == 1 or frame.height == 0:
        return pl.Series("_split", [names[0]] * frame.height, dtype=pl.String)
    edges = np.cumsum([splits[n] for n in names])[:-1]
    which = np.searchsorted(edges, uniform(group_key(frame, split_by).to_list(), seed), side="right")
    return pl.Series("_split", np.array(names, dtype=object)[which], dtype=pl.String)
