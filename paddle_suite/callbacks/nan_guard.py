"""Stop at the first non-finite training loss, naming the step, epoch, LR and likely cause."""
from __future__ import annotations

import math

from ..cluster.distributed import World, any_rank
from ..errors import UserError
from ..training.amp import MIN_LOSS_SCALE, loss_scale, step_skipped
from .monitor import scalar
from .run_state import Phase, RunCallback, run_epoch


class TrainingDiverged(UserError):
    """The training loss became NaN or infinite."""

    exit_code = 3


def likely_cause(step_in_run: int, recent_losses: list[float], lr: float | None,
                 float16: bool = False) -> str:
    """A best guess at why a loss went non-finite, from where and how it happened."""
    if float16:
        return ("the forward pass runs under float16 autocast, whose values overflow above "
                "65504: try AMP.dtype: bfloat16 (float32's range) or AMP.use_amp: false to "
                "see whether float32 trains; a too-high learning rate is also possible")
    if step_in_run <= 1:
        return ("it happened on the very first update: suspect bad data (NaN/Inf or unscaled "
                "pixel values) or a bad initialisation, before the learning rate")
    finite = [v for v in recent_losses if math.isfinite(v)]
    if len(finite) >= 2 and finite[-1] > 2 * min(finite):
        return (f"the loss was rising before it blew up: the learning rate ({lr:.3g}) is most "
                "likely too high; lower it (e.g. 10x) or add warm-up / gradient clipping")
    return ("the loss was not rising beforehand: suspect a bad batch (NaN/Inf in the inputs "
            "or labels), or a numerically unsafe loss; the learning rate may still be too high")


class NaNGuard(RunCallback):
    """Raise `TrainingDiverged` at the first training batch whose loss is NaN or infinite.

    Acts in `on_train_batch_end`, so at most one update is spent on bad values; the exception
    ends `fit` before the epoch-end checkpoint, so the last good checkpoint stays intact.
    `lr_getter` (optional) lets the message name the LR. In a data-parallel run (`world`)
    the decision is shared: every process stops at the same step, none is left waiting in
    an all-reduce for one that already stopped.

    With a float16 loss `scaler` (mixed precision), a step whose gradients overflowed is
    skipped by the scaler: normal while the scale settles, so it is counted (`skipped`) but
    neither an update nor a divergence, unless the scale falls below `MIN_LOSS_SCALE`.
    """

    phase = Phase.GUARD

    def __init__(self, lr_getter=None, window: int = 20, world: World = World(),
                 accumulate: int = 1, scaler=None, float16: bool = False):
        super().__init__()
        self.lr_getter, self.window, self.world = lr_getter, window, world
        self.accumulate, self.scaler, self.float16 = accumulate, scaler, float16
        self.reset()

    def reset(self):
        self.recent, self.global_step, self.updates, self.skipped = [], 0, 0, 0

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
                self._count_update(step)  # hapi updates after each group and the epoch's last
            return
        if math.isfinite(value):
            value = "non-finite on another process"
        lr = self.lr_getter() if self.lr_getter else None
        lr_text = f"{lr:.6g}" if lr is not None else "unknown"
        update = self.updates + 1  # the update this batch belongs to
        raise TrainingDiverged(
            f"Training diverged: the loss became {value} at step {step + 1} of epoch "
            f"{self.epoch} (update {update} of the run), learning rate "
            f"{lr_text}. Likely cause: "
            f"{likely_cause(update, self.recent, lr, self.float16)}. "
            "Training stopped; the checkpoints written before this epoch are intact.")

    def _count_update(self, step: int) -> None:
        if not step_skipped(self.scaler):
            self.updates += 1
            return
        self.skipped += 1
        scale = loss_scale(self.scaler)
        if scale is not None and scale < MIN_LOSS_SCALE:
            raise TrainingDiverged(
                f"Training diverged: the float16 loss scale fell to {scale:.3g} (below "
                f"{MIN_LOSS_SCALE:g}) at step {step + 1} of epoch {self.epoch}: the gradients "
                f"overflow even unscaled; {self.skipped} updates were skipped in this run. "
                "Lower the learning rate, or try AMP.dtype: bfloat16 or AMP.use_amp: false. "
                "The checkpoints written before this epoch are intact.")

    def state_dict(self) -> dict:
        return {"recent": list(self.recent), "global_step": self.global_step,
                "updates": self.updates, "skipped": self.skipped}

    def load_state_dict(self, state: dict) -> None:
        self.recent, self.global_step = list(state["recent"]), state["global_step"]
        self.updates = state.get("updates", self.global_step)
        self.skipped = state.get("skipped", 0)
