"""Stop at the first non-finite training loss, naming the step, epoch, LR and likely cause."""
from __future__ import annotations

import math

from paddle.callbacks import Callback

from ..distributed import World, any_rank
from ..errors import UserError
from .monitor import scalar
from .run_state import run_epoch


class TrainingDiverged(UserError):
    """The training loss became NaN or infinite."""

    exit_code = 3


def likely_cause(step_in_run: int, recent_losses: list[float], lr: float | None) -> str:
    """A best guess at why a loss went non-finite, from where and how it happened."""
    if step_in_run <= 1:
        return ("it happened on the very first update: suspect bad data (NaN/Inf or unscaled "
                "pixel values) or a bad initialisation, before the learning rate")
    finite = [v for v in recent_losses if math.isfinite(v)]
    if len(finite) >= 2 and finite[-1] > 2 * min(finite):
        return (f"the loss was rising before it blew up: the learning rate ({lr:.3g}) is most "
                "likely too high; lower it (e.g. 10x) or add warm-up / gradient clipping")
    return ("the loss was not rising beforehand: suspect a bad batch (NaN/Inf in the inputs "
            "or labels), or a numerically unsafe loss; the learning rate may still be too high")


class NaNGuard(Callback):
    """Raise `TrainingDiverged` at the first training batch whose loss is NaN or infinite.

    Acts in `on_train_batch_end`, so at most one update is spent on bad values; the exception
    ends `fit` before the epoch-end checkpoint, so the last good checkpoint stays intact.
    `lr_getter` (optional) lets the message name the LR. In a data-parallel run (`world`)
    the decision is shared: every process stops at the same step, none is left waiting in
    an all-reduce for one that already stopped.
    """

    def __init__(self, lr_getter=None, window: int = 20, world: World = World(),
                 accumulate: int = 1):
        super().__init__()
        self.lr_getter, self.window, self.world = lr_getter, window, world
        self.accumulate = accumulate
        self.reset()

    def reset(self):
        self.recent, self.global_step, self.updates = [], 0, 0

    def on_train_begin(self, logs=None):
        self.reset()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = run_epoch(self, epoch)

    def on_train_batch_end(self, step, logs=None):
        self.global_step += 1
        value = scalar((logs or {}).get("loss", 0.0))
        if not any_rank(not math.isfinite(value), self.world):
            self.recent = (self.recent + [value])[-self.window:]
            if (step + 1) % self.accumulate == 0 or step + 1 == self.params.get("steps"):
                self.updates += 1  # hapi updates after each group and the epoch's last batch
            return
        if math.isfinite(value):
            value = "non-finite on another process"
        lr = self.lr_getter() if self.lr_getter else None
        lr_text = f"{lr:.6g}" if lr is not None else "unknown"
        update = self.updates + 1  # the update this batch belongs to
        raise TrainingDiverged(
            f"Training diverged: the loss became {value} at step {step + 1} of epoch "
            f"{self.epoch} (update {update} of the run), learning rate "
            f"{lr_text}. Likely cause: {likely_cause(update, self.recent, lr)}. "
            "Training stopped; the checkpoints written before this epoch are intact.")

    def state_dict(self) -> dict:
        return {"recent": list(self.recent), "global_step": self.global_step,
                "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.recent, self.global_step = list(state["recent"]), state["global_step"]
        self.updates = state.get("updates", self.global_step)
