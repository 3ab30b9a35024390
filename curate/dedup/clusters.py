"""Clusters of duplicates from candidate edges, and which member of each cluster is kept.

Connected components run as a vectorised union-find in numpy (hooking and pointer jumping over all edges at once). The keeper of a cluster is chosen by a total order, so
the result is the same on every run: documents from an earlier run (incremental dedup) first, then the keep policy
(`first`: input order; `longest`; or a score, highest first), then input order.
"""

from __future__ import annotations

import numpy as np


def components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A component label per node (0..n-1) of the undirected graph with edges (u[i], v[i]): the smallest node of
    the node's component.

    Union-find in rounds over all edges at once: every edge whose ends have different roots hooks the larger root
    under the smaller one, then pointer jumping flattens the trees; edges already inside one tree drop out."""
    parent = np.arange(n, dtype=np.int64)
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    while u.size:
        pu, pv = parent[u], parent[v]
        active = pu != pv
        if not active.any():
            break
        u, v, pu, pv = u[active], v[active], pu[active], pv[active]
        np.minimum.at(parent, np.maximum(pu, pv), np.minimum(pu, pv))
        while True:  # pointer jumping: every node points at its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return parent


def keepers(labels: np.ndarray, priority: list[np.ndarray]) -> np.ndarray:
    """The kept node of each node's cluster: the node with the smallest priority tuple (compared left to right,
    then by node index) among the cluster's members."""
    n = len(labels)
    order = np.lexsort([np.arange(n)] + list(reversed(priority)) + [labels])
    sorted_labels = labels[order]
    first = np.ones(n, dtype=bool)
    first[1:] = sorted_labels[1:] != sorted_labels[:-1]
    keeper_of_label = np.empty(labels.max() + 1 if n else 0, dtype=np.int64)
    keeper_of_label[sorted_labels[first]] = order[first]
    return keeper_of_label[labels]
