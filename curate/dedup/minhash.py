"""MinHash signatures of many documents at once, compatible with datasketch.

`Permutations(num_perm, seed, scheme)` draws the permutation parameters exactly as `datasketch.MinHash` does
(`numpy.random.RandomState(seed)`), for both of its schemes:

- `affine32` (datasketch >= 2.0 default): `h = fmix32(h)`, then `a*h + b mod 2^32` with odd `a`;
- `legacy` (datasketch < 2.0): `(a*h + b) mod (2^61 - 1)`, truncated to 32 bits (computed in wrapping uint64, as
  datasketch does).

So for the same seed, num_perm, scheme and input hashes, `signatures` returns datasketch's `MinHash.hashvalues`
bit for bit (the tests check it). The work is one numpy pass per block of a few thousand shingles: a
(num_perm x block) matrix of permuted hashes, reduced per document with `np.minimum.reduceat`; blocks are sized to
stay in the CPU cache, which is several times faster than one big matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Scheme = Literal["affine32", "legacy"]

MERSENNE_PRIME = np.uint64((1 << 61) - 1)
MAX_HASH = np.uint32((1 << 32) - 1)  # the value of an empty signature, as in datasketch
BLOCK_ELEMENTS = 1 << 20  # permuted hashes per block (4 MiB of uint32)


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser (datasketch pre-mixes input hashes with it in the affine32 scheme)."""
    h = h ^ (h >> np.uint32(16))
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


@dataclass(frozen=True)
class Permutations:
    num_perm: int = 128
    seed: int = 1
    scheme: Scheme = "affine32"

    def params(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) as datasketch draws them for this seed and scheme."""
        gen = np.random.RandomState(self.seed)
        if self.scheme == "legacy":
            pairs = [(gen.randint(1, MERSENNE_PRIME, dtype=np.uint64), gen.randint(0, MERSENNE_PRIME, dtype=np.uint64))
                     for _ in range(self.num_perm)]  # fmt: skip
            a, b = np.array(pairs, dtype=np.uint64).T
            return a.copy(), b.copy()
        a = gen.randint(0, 1 << 31, self.num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        b = gen.randint(0, 1 << 32, self.num_perm, dtype=np.uint32)
        return a, b


def signatures(hashes: np.ndarray, per_doc: np.ndarray, perms: Permutations) -> np.ndarray:
    """The MinHash signature (num_perm uint32) of each document, given the 32-bit hashes of its shingles
    (concatenated in document order) and their number per document. A document without shingles gets the empty
    signature (all 2^32 - 1), as an un-updated datasketch MinHash has."""
    a, b = perms.params()
    n_docs = len(per_doc)
    out = np.full((n_docs, perms.num_perm), MAX_HASH, dtype=np.uint32)
    if hashes.size == 0:
        return out
    if perms.scheme == "affine32":
        hashes = fmix32(hashes.astype(np.uint32))
        dtype = np.uint32
    else:
        hashes = hashes.astype(np.uint64)
        dtype = np.uint64
    a_col, b_col = a[:, None], b[:, None]
    doc_starts = np.concatenate(([0], np.cumsum(per_doc)[:-1]))
    has_any = per_doc > 0
    docs, starts = np.flatnonzero(has_any), doc_starts[has_any]
    block = max(BLOCK_ELEMENTS // perms.num_perm, 256)
    buffer = np.empty((perms.num_perm, block), dtype=dtype)
    total = hashes.size
    lo = 0
    while lo < total:
        hi = min(lo + block, total)
        # the documents whose shingles overlap [lo, hi), each as one contiguous segment
        first = int(np.searchsorted(starts, lo, side="right")) - 1
        last = int(np.searchsorted(starts, hi, side="left"))
        seg_docs = docs[first:last]
        seg_starts = np.maximum(starts[first:last], lo) - lo
        permuted = buffer[:, : hi - lo]
        chunk = hashes[lo:hi][None, :]
        np.multiply(a_col, chunk, out=permuted)
        permuted += b_col
        if perms.scheme == "legacy":
            np.remainder(permuted, MERSENNE_PRIME, out=permuted)
            permuted &= np.uint64(MAX_HASH)
        mins = np.minimum.reduceat(permuted, seg_starts, axis=1).T.astype(np.uint32)
        out[seg_docs] = np.minimum(out[seg_docs], mins)
        lo = hi
    return out


def jaccard(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of row pairs of two signature matrices (as datasketch's `MinHash.jaccard`)."""
    return (left == right).mean(axis=1)
