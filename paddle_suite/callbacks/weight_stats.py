"""How the weights move: their norm at each epoch's start and end, and the relative size
of an update.

The numbers tell apart causes that the loss curve alone does not: weights shrinking
towards zero epoch after epoch (regularisation stronger than the data's pull) and updates
that move the weights by a large share of their size (an LR too high; about 1e-3 of the
weights' norm per update is the usual healthy order). `RunRecorder` writes them into each
metrics.jsonl row: `weight_norm` (the L2 norm of every trainable parameter at the epoch's
end), `weight_norm_start` (at its start) and `update_ratio` (the mean of
||update|| / ||weights|| over SAMPLES updates spread over the epoch). Works under a plain
`paddle.Model.fit` too; a mid-epoch resume continues the epoch's numbers exactly.
"""
from __future__ import annotations

import paddle

from ..models.nets import trainable_parameters
from .run_state import Phase, RunCallback, state_of


def _trainable(network) -> list:
    return [p for _, p in trainable_parameters(network)]


def _norm(tensors) -> float:
    return float(paddle.sqrt(sum((t.astype("float64") ** 2).sum() for t in tensors)))


class WeightStats(RunCallback):
    """Measure the weights' norm per epoch and the relative size of SAMPLES updates of each
    epoch (a copy of the trainable parameters is held only across a sampled update)."""

    phase = Phase.WATCH
    SAMPLES = 8
    UNKNOWN_EPOCH = 50  # batches between samples when the epoch's length is unknown

    def __init__(self):
        super().__init__()
        self.start_norm, self.ratio_sum, self.ratio_count, self.before = None, 0.0, 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.start_norm = _norm(_trainable(self.model.network))
        self.ratio_sum, self.ratio_count, self.before = 0.0, 0, None

    def on_train_batch_begin(self, step, logs=None):
        steps = (self.params or {}).get("steps") or 0
        every = max(1, steps // self.SAMPLES) if steps else self.UNKNOWN_EPOCH
        if state_of(self).epoch_batches % every == 0:
            self.before = [p.detach().clone() for p in _trainable(self.model.network)]

    def on_train_batch_end(self, step, logs=None):
        if self.before is None:
            return
        before, self.before = self.before, None
        after = _trainable(self.model.network)
        moved, size = _norm([a - b for a, b in zip(after, before)]), _norm(before)
        if moved > 0 and size > 0:  # 0: a batch of an accumulation group, no update yet
            self.ratio_sum += moved / size
            self.ratio_count += 1

    def row(self) -> dict:
        """{"weight_norm", "weight_norm_start", "update_ratio"} of the current epoch."""
        if self.start_norm is None:
            return {}
        ratio = self.ratio_sum / self.ratio_count if self.ratio_count else None
        return {"weight_norm": float(f"{_norm(_trainable(self.model.network)):.6g}"),
                "weight_norm_start": float(f"{self.start_norm:.6g}"),
                "update_ratio": None if ratio is None else float(f"{ratio:.4g}")}

    def state_dict(self) -> dict:
        return {}  # nothing outlives an epoch

    def load_state_dict(self, state: dict) -> None:
        pass

    def epoch_state(self) -> dict:
        """The epoch's numbers so far (a mid-epoch checkpoint)."""
        return {"start_norm": self.start_norm, "ratio_sum": self.ratio_sum,
                "ratio_count": self.ratio_count}

    def load_epoch_state(self, state: dict) -> None:
        self.start_norm = state["start_norm"]
        self.ratio_sum, self.ratio_count = state["ratio_sum"], state["ratio_count"]
