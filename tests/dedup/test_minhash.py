import numpy as np
import polars as pl
import pytest

from curate.dedup.minhash import MAX_HASH, Permutations, jaccard, signatures
from curate.dedup.shingles import batch_shingles, shingle_hash32, shingles

TEXTS = [
    "the quick brown fox jumps over the lazy dog and runs far away into the woods",
    "黑豹队的防守只丢了308分，在联赛中排名第六",
    "short",
    "",
]


def test_permutations_are_datasketchs():
    """The parameters numpy.random.RandomState(seed) draws in datasketch 2.x (affine32) and 1.x (legacy)."""
    a, b = Permutations(4, 1).params()
    assert a.tolist() == [3582191691, 4270784983, 1892572953, 3715639441]
    assert b.tolist() == [491263, 550290313, 1298508491, 4290846341]
    a, b = Permutations(2, 1, "legacy").params()
    assert a.tolist() == [775169054918279404, 2109959069025162]
    assert b.tolist() == [1758426461858698312, 965365488286768773]


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize("mode", ["word", "char"])
def test_signatures_equal_datasketch_minhash(scheme, mode):
    datasketch = pytest.importorskip("datasketch")
    perms = Permutations(64, 7, scheme)
    hashes, per_doc = batch_shingles(pl.Series(TEXTS), mode, 5, False, False, False)
    sigs = signatures(hashes, per_doc, perms)
    for row, text in enumerate(TEXTS):
        m = datasketch.MinHash(num_perm=64, seed=7, scheme=scheme, hashfunc=lambda s: shingle_hash32(s, mode))
        for s in shingles(text, mode, 5):
            m.update(s)
        assert sigs[row].tolist() == m.hashvalues.tolist()
        assert scheme == "legacy" or datasketch.MinHash(num_perm=64, seed=7).permutations.tolist() == [
            perms.params()[0].tolist(),
            perms.params()[1].tolist(),
        ]


def test_empty_document_has_the_empty_signature():
    sigs = signatures(np.array([5, 6], dtype=np.uint32), np.array([0, 2, 0]), Permutations(8, 1))
    assert (sigs[0] == MAX_HASH).all() and (sigs[2] == MAX_HASH).all() and not (sigs[1] == MAX_HASH).all()


def test_documents_of_any_length():
    """Each document's signature is the minimum over its own shingles only (documents of 0, 1 and many)."""
    rng = np.random.default_rng(0)
    per_doc = np.array([3, 0, 1000, 1, 17, 0, 250])
    hashes = rng.integers(0, 2**32, per_doc.sum(), dtype=np.uint64).astype(np.uint32)
    bounds = np.concatenate(([0], np.cumsum(per_doc)))
    for scheme in ("affine32", "legacy"):
        perms = Permutations(16, 3, scheme)
        whole = signatures(hashes, per_doc, perms)
        for k in range(len(per_doc)):
            alone = signatures(hashes[bounds[k] : bounds[k + 1]], per_doc[k : k + 1], perms)
            assert (alone[0] == whole[k]).all()


def test_estimated_jaccard():
    left = np.array([[1, 2, 3, 4], [1, 1, 1, 1]], dtype=np.uint32)
    right = np.array([[1, 2, 0, 0], [1, 1, 1, 1]], dtype=np.uint32)
    assert jaccard(left, right).tolist() == [0.5, 1.0]
