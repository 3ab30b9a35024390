"""Deterministic, stratified, leak-free split assignment.

Rows that must not be separated form one component: a near-duplicate cluster (`dup_cluster`), a synthetic row and
its parent (`_parent_id`), a repeated row and its original (`_repeat_of`), rows sharing `output.split_by`. Components
are found by label propagation over those links (polars joins, no Python per row). Within each stratum (e.g. each
language), components are ordered by a seeded hash and cut at the split fractions, so every stratum gets its share
and the assignment depends only on the rows, the seed and the fractions, never on batch boundaries.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.core.hashing import seeded_hashes

LINK_COLUMNS = ("dup_cluster", "_parent_id", "_repeat_of")


def uniform(keys: list[str], seed: int) -> np.ndarray:
    """A number in [0, 1) per key, stable across runs, machines and library versions (xxh3, not polars' hash)."""
    hashes = seeded_hashes(keys, seed, len(keys))
    return (hashes >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def components(ids: pl.Series, links: list[pl.DataFrame]) -> pl.DataFrame:
    """`_id` -> `_component` (the smallest node of its connected component). `links` are frames of (a, b) edges."""
    nodes = pl.DataFrame({"node": ids}).unique()
    edges = (
        pl.concat(links).drop_nulls().filter(pl.col("a") != pl.col("b"))
        if links
        else pl.DataFrame(schema={"a": pl.String, "b": pl.String})
    )
    nodes = pl.concat([nodes, edges.select(pl.col("b").alias("node"))]).unique()
    labels = nodes.with_columns(pl.col("node").alias("label"))
    both = pl.concat([edges, edges.select(pl.col("b").alias("a"), pl.col("a").alias("b"))])
    while True:
        proposed = (
            both.join(labels, left_on="b", right_on="node").group_by("a").agg(pl.col("label").min().alias("candidate"))
        )
        updated = labels.join(proposed, left_on="node", right_on="a", how="left").with_columns(
            pl.min_horizontal("label", "candidate").alias("new")
        )
        if updated.filter(pl.col("new") != pl.col("label")).height == 0:
            break
        labels = updated.select("node", pl.col("new").alias("label"))
    return (
        pl.DataFrame({"_id": ids})
        .join(labels, left_on="_id", right_on="node", how="left")
        .select("_id", pl.col("label").alias("_component"))
    )


def plan_splits(
    keys: pl.DataFrame, splits: dict[str, float], seed: int, stratify_by: str | None = None, split_by: str | None = None
) -> pl.DataFrame:
    """`_id` -> `_split` (index into the recipe's split names) for every row in `keys`."""
    names = list(splits)
    if keys.height == 0:
        return pl.DataFrame(schema={"_id": pl.String, "_split": pl.UInt8})
    links = [
        keys.select(pl.col("_id").alias("a"), pl.col(c).cast(pl.String).alias("b"))
        for c in LINK_COLUMNS
        if c in keys.columns
    ]
    if split_by is not None:
        links.append(keys.select(pl.col("_id").alias("a"), ("by:" + pl.col(split_by).cast(pl.String)).alias("b")))
    comp = components(keys["_id"], links)
    stratum = pl.col(stratify_by).cast(pl.String).fill_null("") if stratify_by else pl.lit("")
    rows = keys.select("_id", stratum.alias("_stratum")).join(comp, on="_id", maintain_order="left")
    # A component lives in the stratum of its first member (in id order), so it is never split across strata.
    groups = (
        rows.sort("_id")
        .group_by("_component", maintain_order=True)
        .agg(pl.col("_stratum").first(), pl.len().alias("_size"))
    )
    groups = groups.with_columns(pl.Series("_u", uniform(groups["_component"].to_list(), seed)))
    groups = groups.sort(["_stratum", "_u", "_component"]).with_columns(
        (
            (pl.col("_size").cum_sum().over("_stratum") - pl.col("_size") / 2) / pl.col("_size").sum().over("_stratum")
        ).alias("_position")
    )
    edges = np.cumsum([splits[n] for n in names])[:-1]
    codes = np.searchsorted(edges, groups["_position"].to_numpy(), side="right").astype(np.uint8)
    groups = groups.with_columns(pl.Series("_split", codes, dtype=pl.UInt8))
    return rows.join(groups.select("_component", "_split"), on="_component").select("_id", "_split")


def thin_splits(
    keys: pl.DataFrame, plan: pl.DataFrame, names: list[str], stratify_by: str | None, minimum: int
) -> list[dict]:
    """The splits of a stratum (a language) with fewer than `minimum` original rows: copies (`_repeat_of`) are not
    more evidence, so a split made of a few rows and their copies is flagged, as is one that got none."""
    if keys.height == 0 or minimum <= 0:
        return []
    copy = pl.col("_repeat_of").is_not_null() if "_repeat_of" in keys.columns else pl.lit(False)
    stratum = pl.col(stratify_by).cast(pl.String).fill_null("") if stratify_by else pl.lit("")  # "": rows without one
    rows = keys.select(stratum.alias("stratum"), copy.alias("copy"), "_id").join(plan, on="_id")
    counts = rows.group_by("stratum", "_split").agg(
        (~pl.col("copy")).sum().alias("originals"), pl.col("copy").sum().alias("copies")
    )
    grid = (
        rows.select("stratum")
        .unique()
        .join(pl.DataFrame({"_split": range(len(names))}, schema={"_split": pl.UInt8}), how="cross")
    )
    found = (
        grid.join(counts, on=["stratum", "_split"], how="left")
        .fill_null(0)
        .filter(pl.col("originals") < minimum)
        .sort(["stratum", "_split"])
    )
    return [
        {
            "stratum": r["stratum"] or None,
            "split": names[r["_split"]],
            "originals": int(r["originals"]),
            "copies": int(r["copies"]),
        }
        for r in found.iter_rows(named=True)
    ]
