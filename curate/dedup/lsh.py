"""LSH banding: which documents are candidate near-duplicates, found with polars `group_by`, not a hash table of
Python objects.

A signature of `num_perm` values is cut into `bands` bands of `rows` values; two documents are candidates when all
values of one band agree. The number of bands and rows follows the Jaccard threshold exactly as datasketch's
`MinHashLSH` chooses them (`optimal_param`: the (b, r) that minimise the weighted areas of false positives below the
threshold and false negatives above it). Each band is reduced to a 64-bit key; per band, the documents that share a
key form a bucket, and every member is linked to the bucket's first document (a star, not all pairs: a bucket of
a million copies of a boilerplate page costs a million edges, not 10^12). With verification, a link is kept only
when the pair passes it (exact or estimated Jaccard similarity at least the threshold); members that fail are linked
among themselves in further rounds, so a bucket that mixes two groups of near-duplicates still finds both.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import polars as pl

from curate.dedup.shingles import fmix64

_BAND_WEIGHTS = np.array([((i + 1) * 0xC2B2AE3D27D4EB4F) & ((1 << 64) - 1) | 1 for i in range(1024)], dtype=np.uint64)
VERIFY_ROUNDS = 8  # rounds of re-linking the members of a bucket that failed verification


@lru_cache(maxsize=64)
def optimal_param(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) for a Jaccard threshold, as `datasketch.lsh._optimal_param` computes them: the pair that
    minimises fp_weight * (area under the candidate probability below the threshold) + fn_weight * (area above it
    that is missed). The integrands are polynomials of degree b*r <= num_perm, so Gauss-Legendre quadrature with
    num_perm/2 + 1 nodes integrates them exactly (datasketch uses scipy's `quad`; the choice is the same)."""
    nodes, node_weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    below = threshold / 2 * (nodes + 1)  # nodes mapped onto [0, threshold] and [threshold, 1]
    above = threshold + (1 - threshold) / 2 * (nodes + 1)
    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        r = np.arange(1, num_perm // b + 1, dtype=np.float64)[:, None]
        fp = (1 - (1 - below**r) ** b) @ node_weights * threshold / 2
        fn = (1 - (1 - (1 - above**r) ** b)) @ node_weights * (1 - threshold) / 2
        error = fp * fp_weight + fn * fn_weight
        i = int(np.argmin(error))
        if error[i] < best:
            best, opt = float(error[i]), (b, i + 1)
    return opt


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """A 64-bit key per (document, band): equal bands give equal keys; unequal ones collide with probability
    about 2^-64 (and verification catches those)."""
    if bands * rows > sigs.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} permutations; signatures have {sigs.shape[1]}")
    out = np.empty((sigs.shape[0], bands), dtype=np.uint64)
    weights = _BAND_WEIGHTS[:rows]
    for k in range(bands):
        values = sigs[:, k * rows : (k + 1) * rows].astype(np.uint64)
        out[:, k] = fmix64((values * weights).sum(axis=1, dtype=np.uint64) + np.uint64(k))
    return out


def candidate_edges(
    keys: np.ndarray,
    verify: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    relevant: np.ndarray | None = None,
    active: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Edges (u, v) linking duplicates (u > v): the LSH candidates that pass `verify`.

    `verify(u, v)` says which pairs really are duplicates (None: every candidate is). `relevant` (bool per
    document) keeps only buckets with at least one relevant member (incremental dedup: buckets of old documents
    alone are not looked at again). Documents not `active` (nothing to compare) take no part. A pair that meets in
    several bands is verified once.
    """
    n_docs, n_bands = keys.shape
    rows = np.arange(n_docs) if active is None else np.flatnonzero(active)
    doc = pl.Series("doc", rows.astype(np.uint32))
    members = []
    for band in range(n_bands):
        frame = pl.DataFrame([doc, pl.Series("key", keys[rows, band] if active is not None else keys[:, band])])
        frame = frame.filter(pl.len().over("key") > 1).with_columns(pl.lit(band, dtype=pl.UInt16).alias("band"))
        if relevant is not None and frame.height:
            frame = _relevant(frame, relevant)
        members.append(frame)
    frame = pl.concat(members)  # (doc, key, band) of every document in a bucket of two or more
    counts = {"candidate_pairs": 0, "verified_pairs": 0}
    found: list[pl.DataFrame] = []
    checked = pl.DataFrame(schema={"doc": pl.UInt32, "root": pl.UInt32, "ok": pl.Boolean})
    for _ in range(VERIFY_ROUNDS if verify is not None else 1):
        if frame.height == 0:
            break
        edges = (frame.with_columns(pl.col("doc").min().over("band", "key").alias("root"))
                 .filter(pl.col("doc") != pl.col("root")))  # fmt: skip
        if verify is None:
            found.append(edges.select("doc", "root").unique())
            break
        pairs = edges.select("doc", "root").unique().join(checked, on=["doc", "root"], how="anti")
        if pairs.height:
            ok = verify(pairs["doc"].to_numpy(), pairs["root"].to_numpy())
            counts["candidate_pairs"] += pairs.height
            counts["verified_pairs"] += int(ok.sum())
            checked = pl.concat([checked, pairs.with_columns(pl.Series("ok", ok, dtype=pl.Boolean))])
        edges = edges.join(checked, on=["doc", "root"], how="left")
        found.append(edges.filter(pl.col("ok")).select("doc", "root").unique())
        # members that failed against their bucket's root try again among themselves
        frame = edges.filter(~pl.col("ok")).select("doc", "key", "band").filter(pl.len().over("band", "key") > 1)
    if verify is None and found:
        counts["candidate_pairs"] = found[0].height
    if not found:
        return np.empty(0, np.uint32), np.empty(0, np.uint32), counts
    edges = pl.concat(found).unique()
    return edges["doc"].to_numpy(), edges["root"].to_numpy(), counts


def _relevant(frame: pl.DataFrame, relevant: np.ndarray) -> pl.DataFrame:
    flag = pl.Series("relevant", relevant[frame["doc"].to_numpy()])
    return frame.with_columns(flag).filter(pl.col("relevant").any().over("key")).drop("relevant")
