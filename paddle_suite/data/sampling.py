"""Subsets of a data set that do not depend on its order: an ImageFolder lists its class
folders sorted, so "the first 50 samples" are often all of one class."""
from __future__ import annotations

import numpy as np


def sample_indices(labels: np.ndarray, count: int | None, seed: int = 0) -> np.ndarray:
    """Every index, or `count` of them drawn without replacement in proportion to each
    class's share (at least one of each class), seeded."""
    labels = np.asarray(labels)
    if count is None or count >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        take = max(1, round(count * len(members) / len(labels)))
        chosen.append(rng.choice(members, min(take, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def balanced_indices(labels, count: int, seed: int = 0) -> np.ndarray:
    """`count` indices (or all) dealt round-robin over the classes, each class's samples in
    a seeded random order, the whole in a seeded random order: as many classes as `count`
    allows, equally represented, whatever order the data set lists them in."""
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    pools = [rng.permutation(np.flatnonzero(labels == c)) for c in rng.permutation(
        np.unique(labels))]
    dealt = []
    for i in range(max(map(len, pools), default=0)):
        dealt += [pool[i] for pool in pools if i < len(pool)]
        if len(dealt) >= count:
            break
    return rng.permutation(np.asarray(dealt[:count], dtype=np.int64))
