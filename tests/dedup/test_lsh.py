import numpy as np
import pytest

from curate.dedup.lsh import band_keys, candidate_edges, optimal_param


def test_bands_and_rows_follow_datasketch():
    assert optimal_param(0.8, 128) == (9, 13)
    assert optimal_param(0.7, 128) == (14, 9)
    assert optimal_param(0.8, 128, 0.05, 0.95) == (16, 8)
    assert optimal_param(0.9, 256) == (9, 28)


def test_bands_and_rows_equal_datasketchs_choice():
    lsh = pytest.importorskip("datasketch.lsh")
    for num_perm in (32, 128):
        for threshold in (0.3, 0.75, 0.95):
            for weights in ((0.5, 0.5), (0.05, 0.95)):
                assert optimal_param(threshold, num_perm, *weights) == lsh._optimal_param(threshold, num_perm, *weights)


def test_band_keys_are_equal_exactly_when_bands_are():
    sigs = np.array([[1, 2, 3, 4, 5, 6], [1, 2, 3, 9, 9, 9], [9, 9, 9, 4, 5, 6], [2, 1, 3, 4, 5, 6]], dtype=np.uint32)
    keys = band_keys(sigs, 2, 3)
    assert keys[0, 0] == keys[1, 0] and keys[0, 1] == keys[2, 1]
    assert keys[0, 0] != keys[3, 0] and keys[0, 0] != keys[0, 1]  # order matters; bands are keyed apart
    with pytest.raises(ValueError, match="need 8 permutations"):
        band_keys(sigs, 2, 4)


def edges(u, v):
    return sorted(zip(u.tolist(), v.tolist()))


def test_buckets_become_star_edges_to_their_first_member():
    keys = np.array([[7, 1], [7, 2], [8, 3], [7, 3], [9, 3]], dtype=np.uint64)
    u, v, counts = candidate_edges(keys.T)
    assert edges(u, v) == [(1, 0), (3, 0), (3, 2), (4, 2)]
    assert counts["candidate_pairs"] == 4


def test_failed_members_are_linked_among_themselves():
    # one bucket holding two groups: {0, 2} and {1, 3}; only pairs within a group pass
    keys = np.array([[5], [5], [5], [5]], dtype=np.uint64)
    group = np.array([0, 1, 0, 1])
    u, v, counts = candidate_edges(keys.T, verify=lambda a, b: group[a] == group[b])
    assert edges(u, v) == [(2, 0), (3, 1)]
    assert counts == {"candidate_pairs": 4, "verified_pairs": 2}  # (1,0) (2,0) (3,0), then (3,1)


def test_relevant_and_active_documents():
    keys = np.array([[5], [5], [6], [6], [6]], dtype=np.uint64)
    u, v, _ = candidate_edges(keys.T, relevant=np.array([False, False, False, True, False]))
    assert edges(u, v) == [(3, 2), (4, 2)]  # the bucket of old documents 0 and 1 alone is skipped
    u, v, _ = candidate_edges(keys.T, active=np.array([True, True, False, True, True]))
    assert edges(u, v) == [(1, 0), (4, 3)]
