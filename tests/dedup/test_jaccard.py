import numpy as np
import pytest

from curate.dedup import jaccard as jac
from curate.dedup.jaccard import ShingleSpill


@pytest.mark.parametrize("resident", [True, False])
def test_exact_jaccard_of_spilled_sets(tmp_path, monkeypatch, resident):
    if not resident:  # pages released after every pair
        monkeypatch.setattr(jac, "RESIDENT_BYTES", 0)
        monkeypatch.setattr(jac, "PAIRS_PER_CHUNK", 1)
    sets = [[1, 2, 3, 3], [2, 3, 4], [], [9], [5, 6, 7, 8, 9, 10]]
    spill = ShingleSpill(tmp_path / "s.u32")
    flat = np.array([h for s in sets[:3] for h in s], dtype=np.uint32)
    spill.add(np.array([0, 4, 7]), np.array([4, 3, 0]), flat)
    spill.skip(1)  # a row known only by its signature
    spill.add(np.array([0]), np.array([6]), np.array(sets[4], dtype=np.uint32))
    spill.close()
    u, v = np.array([0, 0, 2, 4, 1]), np.array([1, 2, 2, 0, 1])
    expected = [2 / 4, 0.0, 1.0, 0.0, 1.0]
    assert spill.jaccard(u, v).tolist() == expected
    assert spill.jaccard(u[:0], v[:0]).tolist() == []
    assert spill.known(np.array([0, 3, 4])).tolist() == [True, False, True]
