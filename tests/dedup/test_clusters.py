import numpy as np

from curate.dedup.clusters import components, keepers


def test_components_are_labelled_by_their_smallest_node():
    labels = components(7, np.array([1, 2, 6, 5]), np.array([0, 1, 4, 6]))
    assert labels.tolist() == [0, 0, 0, 3, 4, 4, 4]
    assert components(3, np.array([], dtype=np.int64), np.array([], dtype=np.int64)).tolist() == [0, 1, 2]


def test_long_chains_and_random_graphs():
    n = 5000
    chain = components(n, np.arange(n - 1, 0, -1), np.arange(n - 2, -1, -1))
    assert (chain == 0).all()
    rng = np.random.default_rng(1)
    u, v = rng.integers(0, 300, 200), rng.integers(0, 300, 200)
    labels = components(300, u, v)
    assert (labels[u] == labels[v]).all() and (labels <= np.arange(300)).all()
    parent = list(range(300))  # a plain union-find as the reference

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in zip(u.tolist(), v.tolist()):
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    assert labels.tolist() == [root(x) for x in range(300)]


def test_keepers_follow_priority_then_index():
    labels = np.array([0, 0, 0, 3, 3])
    assert keepers(labels, [np.zeros(5)]).tolist() == [0, 0, 0, 3, 3]
    assert keepers(labels, [np.array([0, -5, -5, 0, -1])]).tolist() == [1, 1, 1, 4, 4]
    old_first = [np.array([True, True, False, True, True]), np.array([0, -9, 0, 0, 0])]
    assert keepers(labels, old_first).tolist() == [2, 2, 2, 3, 3]
