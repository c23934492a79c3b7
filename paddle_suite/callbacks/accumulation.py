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
    update is the mean gradient of the batches it sums, the last partial group included.

    Under data parallelism it also switches the gradient all-reduce (the switch that
    `paddle.DataParallel.no_sync` sets) off for every batch but the last of a group: the
    processes sum their gradients locally and all-reduce once per optimizer update, where
    hapi's `fit` alone would all-reduce after every batch. Group boundaries follow hapi's
    own rule (an update after every k-th batch and after the pass's last), with the
    loader's length as hapi reads it (a pass resumed mid-epoch is shorter)."""

    phase = Phase.GUARD

    def __init__(self, loss, k: int, loader=None):
        super().__init__()
        self.loss, self.k, self.loader = loss, k, loader

    def on_train_batch_begin(self, step, logs=None):
        steps = len(self.loader) if self.loader is not None else \
            (self.params.get("steps") or self.k)
        self.loss.group = group_size(step, steps, self.k)
        parallel = getattr(getattr(self.model, "_adapter", None), "ddp_model", None)
        if parallel is not None:
            parallel.grad_need_sync = (step + 1) % self.k == 0 or step + 1 == steps
