"""Step an LR schedule on an explicit clock: per update or per epoch."""
from __future__ import annotations

from paddle.callbacks import LRScheduler

from .run_state import Phase


class LRStepper(LRScheduler):
    """Step `scheduler` once per optimizer update (`step_on='step'`) or once per epoch.

    With gradient accumulation (`accumulate` > 1) an update happens every `accumulate`
    batches and after the last batch of an epoch (as in `Model.fit`), and the schedule steps
    only then. Use it instead of `paddle.callbacks.LRScheduler`, which `fit` would otherwise
    add stepping every batch (it subclasses it so that `fit` sees a scheduler callback and
    adds none of its own). It steps the `scheduler` it is given, not the optimizer's private
    attribute. `steps` counts the schedule steps taken.
    """

    phase = Phase.STEP

    def __init__(self, scheduler, step_on: str = "epoch", accumulate: int = 1):
        super().__init__(by_step=False, by_epoch=False)
        self.scheduler, self.step_on, self.accumulate = scheduler, step_on, accumulate
        self.steps = 0

    def on_train_begin(self, logs=None):
        self.steps = 0

    def _step(self):
        if hasattr(self.scheduler, "step"):
            self.scheduler.step()
        self.steps += 1

    def on_train_batch_end(self, step, logs=None):
        if self.step_on != "step":
            return
        last = step + 1 == self.params.get("steps")
        if (step + 1) % self.accumulate == 0 or last:
            self._step()

    def on_epoch_end(self, epoch, logs=None):
        if self.step_on == "epoch":
            self._step()

    def state_dict(self) -> dict:
        return {"steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.steps = state["steps"]
