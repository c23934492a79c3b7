"""Losses. Every loss takes logits [N, C] and either hard labels ([N] or [N, 1] int) or soft
targets ([N, C] float, as produced by mixup/cutmix)."""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle import nn


def _targets(label, num_classes: int):
    """Hard or soft labels -> a float [N, C] target distribution."""
    if label.dtype in (paddle.float32, paddle.float64) and label.ndim == 2 \
            and label.shape[-1] == num_classes:
        return label.astype("float32")
    return F.one_hot(label.reshape([-1]).astype("int64"), num_classes)


class CrossEntropy(nn.Layer):
    """Softmax cross-entropy with optional label smoothing and per-class weights.

    With weights, the mean is weighted (sum w_i l_i / sum w_i), as in PyTorch and Paddle.
    """

    def __init__(self, label_smoothing: float = 0.0, class_weights: list[float] | None = None):
        super().__init__()
        self.label_smoothing = label_smoothing
        self.class_weights = None if class_weights is None else \
            paddle.to_tensor(class_weights, dtype="float32")

    def forward(self, logits, label):
        soft = label.dtype in (paddle.float32, paddle.float64)
        if not soft and self.class_weights is None:
            # Paddle 3.3.1 smooths [N, 1] integer labels with a float-only kernel and fails;
            # [N] labels take its one-hot path (tests/unit/test_hapi_behaviour.py shows both)
            return F.cross_entropy(logits, label.reshape([-1]).astype("int64"),
                                   label_smoothing=self.label_smoothing)
        target = _targets(label, logits.shape[-1])
        if self.label_smoothing > 0:
            target = target * (1 - self.label_smoothing) + self.label_smoothing / logits.shape[-1]
        per_sample = -(target * F.log_softmax(logits, axis=-1)).sum(axis=-1)
        if self.class_weights is None:
            return per_sample.mean()
        weight = (target * self.class_weights).sum(axis=-1)
        return (weight * per_sample).sum() / weight.sum()


class MSE(nn.Layer):
    """Mean squared error between the raw outputs and the one-hot (or soft) targets."""

    def forward(self, logits, label):
        target = _targets(label, logits.shape[-1])
        return ((logits - target) ** 2).sum(axis=-1).mean()


class Hinge(nn.Layer):
    """Multi-class hinge (Weston-Watkins SVM): sum over wrong classes of max(0, s_j - s_y + margin)."""

    def __init__(self, margin: float = 1.0):
        super().__init__()
        self.margin = margin

    def forward(self, logits, label):
        target = _targets(label, logits.shape[-1])
        correct = (logits * target).sum(axis=-1, keepdim=True)
        margins = F.relu(logits - correct + self.margin) * (1 - target)
        return margins.sum(axis=-1).mean()


class AccumulatedLoss(nn.Layer):
    """`loss / n`, n the number of batches in the current accumulation group: with gradients
    summed over the group, the update uses their mean (Caffe's `iter_size`). n is `k`, except
    for an epoch's last, partial group, which `AccumulationGroups` sets to its real size so
    that it is not down-weighted. Only the optimised loss is scaled; metrics use the raw one."""

    def __init__(self, loss: nn.Layer, k: int):
        super().__init__()
        self.loss, self.k, self.group = loss, k, k

    def forward(self, logits, label):
        return self.loss(logits, label) / self.group


LOSSES = {"CrossEntropy": CrossEntropy, "MSE": MSE, "Hinge": Hinge}


def build_loss(section: dict) -> nn.Layer:
    """Build the loss of a validated `Loss` section."""
    return LOSSES[section["name"]](**{k: v for k, v in section.items() if k != "name"})
