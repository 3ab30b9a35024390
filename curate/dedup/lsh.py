"""LSH banding: which documents are candidate near-duplicates, found with polars, one band at a time, not with a hash
table of Python objects.

A signature of `num_perm` values is cut into `bands` bands of `rows` values; two documents are candidates when all
values of one band agree. The number of bands and rows follows the Jaccard threshold exactly as datasketch's
`MinHashLSH` chooses them (`optimal_param`: the (b, r) that minimise the weighted areas of false positives below the
threshold and false negatives above it). Each band is reduced to a 64-bit key; per band, the documents that share a
key form a bucket, and every member is linked to the bucket's first document (a star, not all pairs: a bucket of
a million copies of a boilerplate page costs a million edges, not 10^12). With verification, a link is kept only
when the pair passes it (exact or estimated Jaccard similarity at least the threshold); members that fail are linked
among themselves in further rounds, so a bucket that mixes two groups of near-duplicates still finds both. A
union-find of the links found so far skips the pairs already in one cluster. The keys are spilled to one file per
band (`BandKeySpill`), so memory holds one band's keys (8 bytes per document) at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from curate.dedup import kernels

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
        raise ValueError(
            f"{bands} bands x {rows} rows need {bands * rows} permutations; signatures have {sigs.shape[1]}"
        )
    out = np.empty((sigs.shape[0], bands), dtype=np.uint64)
    kernels.band_keys(np.ascontiguousarray(sigs, dtype=np.uint32), bands, rows, _BAND_WEIGHTS[:rows], out)
    return out


def candidate_edges(
    columns: Iterable[np.ndarray],
    verify: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    relevant: np.ndarray | None = None,
    active: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Edges (u, v) linking duplicates (u > v): the LSH candidates that pass `verify`, band after band.

    `columns` are the band keys of every document, one array per band (read one at a time, so a band's keys are all
    that is in memory). `verify(u, v)` says which pairs really are duplicates (None: every candidate is).
    `relevant` (bool per document) keeps only buckets with at least one relevant member (incremental dedup:
    buckets of old documents alone are not looked at again). Documents not `active` (nothing to compare) take no
    part. A union-find of the edges found so far skips pairs already in one cluster, so a pair of duplicates that
    meets in several bands is verified once.
    """
    counts = {"candidate_pairs": 0, "verified_pairs": 0}
    parent: np.ndarray | None = None
    found_u: list[np.ndarray] = []
    found_v: list[np.ndarray] = []
    for column in columns:
        if parent is None:
            parent = np.arange(len(column), dtype=np.int64)
        doc, key = _buckets(column, relevant, active)
        for _ in range(VERIFY_ROUNDS if verify is not None else 1):
            if doc.size == 0:
                break
            first = np.ones(doc.size, dtype=bool)
            first[1:] = key[1:] != key[:-1]
            root = doc[first][np.cumsum(first) - 1]
            u, v, key = doc[~first], root[~first], key[~first]
            pending = _roots(parent, u) != _roots(parent, v)
            u, v, key = u[pending], v[pending], key[pending]
            ok = np.ones(u.size, dtype=bool) if verify is None else np.asarray(verify(u, v), dtype=bool)
            counts["candidate_pairs"] += int(u.size)
            counts["verified_pairs"] += int(ok.sum())
            kernels.union(parent, u[ok], v[ok])
            found_u.append(u[ok])
            found_v.append(v[ok])
            # members that failed against their bucket's root try again among themselves
            doc, key = _shared(u[~ok], key[~ok])
    if not found_u:
        return np.empty(0, np.int64), np.empty(0, np.int64), counts
    return np.concatenate(found_u), np.concatenate(found_v), counts


def _buckets(
    column: np.ndarray, relevant: np.ndarray | None, active: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(doc, key) of the documents that share their key with another, sorted by key then doc."""
    docs = np.flatnonzero(active) if active is not None else np.arange(len(column))
    frame = pl.DataFrame({"doc": docs, "key": np.asarray(column)[docs]}).filter(pl.col("key").is_duplicated())
    if relevant is not None and frame.height:
        flag = pl.Series("relevant", relevant[frame["doc"].to_numpy()])
        frame = frame.with_columns(flag).filter(pl.col("relevant").any().over("key")).drop("relevant")
    frame = frame.sort("key", "doc")
    return frame["doc"].to_numpy(), frame["key"].to_numpy()


def _shared(doc: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (doc, key) pairs (sorted by key) whose key another pair has too."""
    if doc.size == 0:
        return doc, key
    differs = key[1:] != key[:-1]
    alone = np.concatenate(([True], differs)) & np.concatenate((differs, [True]))
    return doc[~alone], key[~alone]


def _roots(parent: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    out = np.empty(nodes.size, dtype=np.int64)
    kernels.roots(parent, nodes, out)
    return out


class BandKeySpill:
    """The band keys of every row, one file per band, appended batch by batch (in the order rows are numbered)."""

    def __init__(self, folder: Path, bands: int):
        self.paths = [folder / f"band-{k:03d}.u64" for k in range(bands)]
        self._files: list[BinaryIO] | None = [open(p, "wb") for p in self.paths]  # noqa: SIM115 (until close())

    def add(self, keys: np.ndarray) -> None:
        assert self._files is not None
        for k, handle in enumerate(self._files):
            handle.write(np.ascontiguousarray(keys[:, k]).tobytes())

    def close(self) -> None:
        for handle in self._files or []:
            handle.close()
        self._files = None

    def columns(self) -> Iterator[np.ndarray]:
        """One band's keys at a time."""
        self.close()
        for path in self.paths:
            yield np.fromfile(path, dtype=np.uint64)
