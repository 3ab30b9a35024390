"""Exact Jaccard similarity of candidate pairs, from shingle hashes spilled to disk.

The MinHash estimate of a pair's similarity has a standard deviation of about sqrt(J(1-J)/num_perm) (0.035 at
J = 0.8 with 128 permutations), so pairs near the threshold land on the wrong side of it often. Verifying the
candidate pairs on their shingle sets removes that noise: `fit` appends every row's shingle hashes (4 bytes per
shingle) to a file in the step's work folder, and each candidate pair's two sets are read back through a memory
map and compared by a compiled loop (`curate.dedup.kernels`); past `RESIDENT_BYTES` of spill, the mapped pages are
released after every chunk of pairs, so memory stays independent of the text. The
similarity is that of the sets of 32-bit shingle hashes (a collision between two different shingles of a pair has a
probability of about (shingles)^2 / 2^32 and moves J by 1/union).
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import BinaryIO

import numpy as np

from curate.dedup.kernels import jaccard_pairs

PAIRS_PER_CHUNK = 1 << 13  # pairs compared between two releases of the pages they read
RESIDENT_BYTES = 1 << 28  # a spill up to this size may stay in memory while pairs are compared
DONTNEED = getattr(mmap, "MADV_DONTNEED", None)


class ShingleSpill:
    """Shingle hashes of many rows in one file; `starts`/`counts` say where each row's are."""

    def __init__(self, path: Path):
        self.path = path
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 (open until close())
        self._position = 0
        self._starts: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self.starts = np.empty(0, dtype=np.int64)
        self.counts = np.empty(0, dtype=np.int32)
        self._hashes: np.ndarray | None = None
        self._map: mmap.mmap | None = None

    def add(self, starts: np.ndarray, counts: np.ndarray, hashes: np.ndarray) -> None:
        """Rows whose hashes are `hashes[starts[i] : starts[i] + counts[i]]` (in the order rows are numbered)."""
        assert self._file is not None
        self._file.write(np.ascontiguousarray(hashes, dtype=np.uint32).tobytes())
        self._starts.append(starts.astype(np.int64) + self._position)
        self._counts.append(counts.astype(np.int32))
        self._position += hashes.size

    def skip(self, rows: int) -> None:
        """Rows without shingles here (e.g. an earlier run's rows, known only by their signatures)."""
        self._starts.append(np.zeros(rows, dtype=np.int64))
        self._counts.append(np.full(rows, -1, dtype=np.int32))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self.starts = np.concatenate(self._starts) if self._starts else self.starts
            self.counts = np.concatenate(self._counts) if self._counts else self.counts
            self._starts, self._counts = [], []
            if self._position:
                with open(self.path, "rb") as handle:
                    self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                self._hashes = np.frombuffer(self._map, dtype=np.uint32)

    def known(self, rows: np.ndarray) -> np.ndarray:
        """Whether the rows' shingles are in the spill."""
        return self.counts[rows] >= 0

    def jaccard(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Exact Jaccard similarity of the shingle sets of each pair (u[i], v[i]); 1.0 for two empty sets."""
        out = np.ones(len(u), dtype=np.float64)
        if self._hashes is None:
            return out
        u, v, counts = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64), np.maximum(self.counts, 0)
        release = DONTNEED is not None and self._hashes.nbytes > RESIDENT_BYTES
        step = PAIRS_PER_CHUNK if release else max(len(u), 1)
        for lo in range(0, len(u), step):
            jaccard_pairs(self._hashes, self.starts, counts, u[lo : lo + step], v[lo : lo + step], out[lo : lo + step])
            if release:  # the pages read stay cached by the OS, not in this process's memory
                self._map.madvise(DONTNEED)
        return out
