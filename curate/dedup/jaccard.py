"""Exact Jaccard similarity of candidate pairs, from shingle hashes spilled to disk.

The MinHash estimate of a pair's similarity has a standard deviation of about sqrt(J(1-J)/num_perm) (0.035 at
J = 0.8 with 128 permutations), so pairs near the threshold land on the wrong side of it often. Verifying the
candidate pairs on their shingle sets removes that noise: `fit` appends every row's shingle hashes (4 bytes per
shingle) to a file in the step's work folder, and the pairs are checked in chunks read back through a memory map,
so memory stays independent of the text. The similarity is that of the sets of 32-bit shingle hashes (a collision
between two different shingles of a pair has a probability of about (shingles)^2 / 2^32 and moves J by 1/union).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from curate.dedup.shingles import ramp

CHUNK_ELEMENTS = 1 << 22  # shingle hashes compared at once


class ShingleSpill:
    """Shingle hashes of many rows in one file; `starts`/`counts` say where each row's are."""

    def __init__(self, path: Path):
        self.path = path
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 (open until close())
        self._position = 0
        self._starts: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self.starts = np.empty(0, dtype=np.int64)
        self.counts = np.empty(0, dtype=np.int64)
        self._hashes: np.ndarray | None = None

    def add(self, starts: np.ndarray, counts: np.ndarray, hashes: np.ndarray) -> None:
        """Rows whose hashes are `hashes[starts[i] : starts[i] + counts[i]]` (in the order rows are numbered)."""
        assert self._file is not None
        self._file.write(np.ascontiguousarray(hashes, dtype=np.uint32).tobytes())
        self._starts.append(starts.astype(np.int64) + self._position)
        self._counts.append(counts.astype(np.int64))
        self._position += hashes.size

    def skip(self, rows: int) -> None:
        """Rows without shingles here (e.g. an earlier run's rows, known only by their signatures)."""
        self._starts.append(np.zeros(rows, dtype=np.int64))
        self._counts.append(np.full(rows, -1, dtype=np.int64))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self.starts = np.concatenate(self._starts) if self._starts else self.starts
            self.counts = np.concatenate(self._counts) if self._counts else self.counts
            self._starts, self._counts = [], []
            if self._position:
                self._hashes = np.memmap(self.path, dtype=np.uint32, mode="r", shape=(self._position,))

    def known(self, rows: np.ndarray) -> np.ndarray:
        """Whether the rows' shingles are in the spill."""
        return self.counts[rows] >= 0

    def jaccard(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Exact Jaccard similarity of the shingle sets of each pair (u[i], v[i]); 1.0 for two empty sets."""
        out = np.empty(len(u), dtype=np.float64)
        ends = np.cumsum(np.maximum(self.counts[u], 0) + np.maximum(self.counts[v], 0))
        lo = 0
        while lo < len(u):
            base = ends[lo - 1] if lo else 0
            hi = max(lo + 1, int(np.searchsorted(ends, base + CHUNK_ELEMENTS, side="right")))
            out[lo:hi] = self._jaccard_chunk(u[lo:hi], v[lo:hi])
            lo = hi
        return out

    def _jaccard_chunk(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        pairs = len(u)
        cu, cv = np.maximum(self.counts[u], 0), np.maximum(self.counts[v], 0)
        if self._hashes is None or cu.sum() + cv.sum() == 0:
            return np.ones(pairs)
        # every hash of both members as one sortable key: pair (31 bits) | hash (32 bits) | side (1 bit: v's)
        k = np.concatenate([cu, cv])
        first = np.concatenate([self.starts[u], self.starts[v]])
        index = np.repeat(first, k) + ramp(k)
        pair = np.repeat(np.concatenate([np.arange(pairs), np.arange(pairs)]).astype(np.uint64), k)
        side = np.repeat(np.concatenate([np.zeros(pairs, np.uint64), np.ones(pairs, np.uint64)]), k)
        keys = (pair << np.uint64(33)) | (np.asarray(self._hashes[index], dtype=np.uint64) << np.uint64(1)) | side
        keys.sort()
        group = keys >> np.uint64(1)
        starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
        ends = np.concatenate((starts[1:], [keys.size])) - 1
        # a (pair, hash) group holds both members when it starts with side 0 and ends with side 1
        both = ((keys[starts] & np.uint64(1)) == 0) & ((keys[ends] & np.uint64(1)) == 1)
        group_pair = (keys[starts] >> np.uint64(33)).astype(np.int64)
        union = np.bincount(group_pair, minlength=pairs)
        inter = np.bincount(group_pair, weights=both, minlength=pairs)
        return np.where(union > 0, inter / np.maximum(union, 1), 1.0)

