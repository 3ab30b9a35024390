"""MinHash signatures of many documents at once, compatible with datasketch.

`Permutations(num_perm, seed, scheme)` draws the permutation parameters exactly as `datasketch.MinHash` does
(`numpy.random.RandomState(seed)`), for both of its schemes:

- `affine32` (datasketch >= 2.0 default): `h = fmix32(h)`, then `a*h + b mod 2^32` with odd `a`;
- `legacy` (datasketch < 2.0): `(a*h + b) mod (2^61 - 1)`, truncated to 32 bits (computed in wrapping uint64, as
  datasketch does).

So for the same seed, num_perm, scheme and input hashes, `signatures` returns datasketch's `MinHash.hashvalues`
bit for bit (the tests check it). The loop over (shingle, permutation) is compiled (`curate.dedup.kernels`), one
document per task on every core, with the permutations of a shingle in the innermost loop (vectorised by the CPU).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from curate.dedup import kernels

Scheme = Literal["affine32", "legacy"]

MERSENNE_PRIME = np.uint64((1 << 61) - 1)
MAX_HASH = np.uint32((1 << 32) - 1)  # the value of an empty signature, as in datasketch


@dataclass(frozen=True)
class Permutations:
    num_perm: int = 128
    seed: int = 1
    scheme: Scheme = "affine32"

    def params(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) as datasketch draws them for this seed and scheme."""
        gen = np.random.RandomState(self.seed)
        if self.scheme == "legacy":
            pairs = [
                (gen.randint(1, MERSENNE_PRIME, dtype=np.uint64), gen.randint(0, MERSENNE_PRIME, dtype=np.uint64))
                for _ in range(self.num_perm)
            ]
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
    out = np.full((len(per_doc), perms.num_perm), MAX_HASH, dtype=np.uint32)
    counts = np.asarray(per_doc, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    kernel = kernels.minhash_legacy if perms.scheme == "legacy" else kernels.minhash_affine32
    kernel(np.ascontiguousarray(hashes, dtype=np.uint32), starts, counts, a, b, out)
    return out


def jaccard(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of row pairs of two signature matrices (as datasketch's `MinHash.jaccard`)."""
    return (left == right).mean(axis=1)
