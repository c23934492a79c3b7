"""Batch mixing (mixup, cutmix) as a DataLoader collate function producing soft targets."""
from __future__ import annotations

from typing import Literal

import numpy as np
from paddle.io.dataloader.collate import default_collate_fn


class MixCollate:
    """Collate a batch, then with probability `prob` mix it with a shuffled copy of itself.

    mixup: x = lam*x_i + (1-lam)*x_j; cutmix: paste a box of x_j (area 1-lam) into x_i.
    lam ~ Beta(alpha, alpha). Labels become [N, C] float targets lam*y_i + (1-lam)*y_j, which
    every suite loss accepts. Randomness comes from numpy's global generator (seeded by
    Global.seed).
    """

    def __init__(self, num_classes: int, mode: str = "mixup", alpha: float = 0.2,
                 prob: float = 1.0):
        self.num_classes, self.mode, self.alpha, self.prob = num_classes, mode, alpha, prob

    def __call__(self, batch):
        images, labels = default_collate_fn(batch)
        images, labels = np.asarray(images), np.asarray(labels).reshape(-1)
        onehot = np.eye(self.num_classes, dtype=np.float32)[labels]
        if np.random.random() >= self.prob:
            return images, onehot
        lam = float(np.random.beta(self.alpha, self.alpha))
        perm = np.random.permutation(len(labels))
        if self.mode == "mixup":
            images = (lam * images + (1 - lam) * images[perm]).astype(np.float32)
        else:
            images, lam = _cutmix(images, perm, lam)
        return images, (lam * onehot + (1 - lam) * onehot[perm]).astype(np.float32)


def _cutmix(images, perm, lam):
    h, w = images.shape[-2:]
    cut_h, cut_w = int(h * np.sqrt(1 - lam)), int(w * np.sqrt(1 - lam))
    cy, cx = np.random.randint(h), np.random.randint(w)
    y0, y1 = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, h)
    x0, x1 = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, w)
    images = images.copy()
    images[..., y0:y1, x0:x1] = images[perm][..., y0:y1, x0:x1]
    return images, 1 - (y1 - y0) * (x1 - x0) / (h * w)


def mix_options(name: Literal["mixup", "cutmix"] = "mixup", alpha: float = 0.2, prob: float = 1.0):
    """Keys of a `DataLoader.Train.mix` section."""
