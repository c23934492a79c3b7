"""Likely label errors (data/label_issues.py) on planted flips: precision, recall, time.

    python bench/label_issues.py                     # MNIST 8,000 and UCI digits 1,797
    python bench/label_issues.py --scale 50000       # + a synthetic set of that size
    PYTHONPATH=/path/to/cleanlab python bench/label_issues.py --cleanlab

Each set gets 5% of its labels changed to another class at random (seeded); the held-out
probabilities (5-fold, PCA 40 + 15 nearest neighbours on 16x16 thumbnails) are computed
once, then the suite's confident learning and, with --cleanlab, cleanlab's
`find_label_issues` (its default, prune by noise rate) judge the same probabilities.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paddle_suite.data.datasets import mnist10k, sklearn_digits  # noqa: E402
from paddle_suite.data.label_issues import (find_label_issues, held_out_probabilities,  # noqa: E402
                                            precision_recall, thumbnail)

SHARE = 0.05


def real(dataset) -> tuple[np.ndarray, np.ndarray]:
    images = np.stack([thumbnail(np.asarray(dataset[i][0])) for i in range(len(dataset))])
    labels = np.array([int(dataset[i][1]) for i in range(len(dataset))])
    return images.astype(np.float32) / 255, labels


def synthetic(count: int, classes: int = 100, seed: int = 0):
    """`count` 16x16 'images': a class prototype plus noise (a stand-in for a large set)."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((classes, 256)).astype(np.float32)
    labels = rng.integers(0, classes, size=count)
    return prototypes[labels] + rng.normal(0, 0.35, (count, 256)).astype(np.float32), labels


def plant(labels: np.ndarray, classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(labels), size=int(len(labels) * SHARE), replace=False)
    noisy = labels.copy()
    noisy[flipped] = (labels[flipped] + rng.integers(1, classes, size=len(flipped))) % classes
    return noisy, flipped


def measure(name: str, features, labels, classes: int, with_cleanlab: bool) -> None:
    noisy, flipped = plant(labels, classes)
    start = time.perf_counter()
    probs = held_out_probabilities(features, noisy, classes)
    middle = time.perf_counter()
    found = find_label_issues(probs, noisy)
    done = time.perf_counter()
    p, r = precision_recall(found["issues"], flipped)
    clean = find_label_issues(held_out_probabilities(features, labels, classes), labels)
    print(f"| {name} | {len(labels):,} | {len(flipped):,} | {len(found['issues']):,} | "
          f"{p:.3f} | {r:.3f} | {len(clean['issues'])} | {middle - start:.1f} s + "
          f"{done - middle:.2f} s |")
    if with_cleanlab:
        from cleanlab.filter import find_label_issues as cleanlab_issues
        theirs = np.flatnonzero(cleanlab_issues(noisy, probs))
        cp, cr = precision_recall(theirs, flipped)
        both = len(set(theirs) & set(found["issues"].tolist()))
        print(f"|   cleanlab on the same probabilities | | | {len(theirs):,} | {cp:.3f} | "
              f"{cr:.3f} | | {both:,} flagged by both |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=0, help="also a synthetic set this big")
    parser.add_argument("--classes", type=int, default=100, help="the synthetic set's classes")
    parser.add_argument("--cleanlab", action="store_true", help="compare with cleanlab")
    args = parser.parse_args()
    print("| set | samples | planted | flagged | precision | recall | flagged when clean | "
          "time (probabilities + judging) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    measure("MNIST (bundled train, 28x28)", *real(mnist10k()), 10, args.cleanlab)
    measure("UCI digits (8x8)", *real(sklearn_digits()), 10, args.cleanlab)
    if args.scale:
        measure(f"synthetic, {args.classes} classes", *synthetic(args.scale, args.classes),
                args.classes, args.cleanlab)


if __name__ == "__main__":
    main()
