"""Gradient accumulation groups: the divisor of each batch's loss."""
from __future__ import annotations

from paddle.callbacks import Callback
from .run_state import Phase


def group_size(step: int, steps: int, k: int) -> int:
    """Batches in the accumulation group of batch `step` (0-based) of an epoch of `steps`:
    k, or what is left for the last, partial group (hapi updates after an epoch's last
    batch, so groups never cross the epoch boundary)."""
    full = (steps // k) * k
    return k if step < full else steps - full


class AccumulationGroups(Callback):
    """Before each batch, tell the `AccumulatedLoss` the size of the batch's group, so every
    update is the mean gradient of the batches it sums, the last partial group included."""

    phase = Phase.GUARD

    def __init__(self, loss, k: int):
        super().__init__()
        self.loss, self.k = loss, k

    def on_train_batch_begin(self, step, logs=None):
        self.loss.group = group_size(step, self.params.get("steps") or self.k, self.k)
