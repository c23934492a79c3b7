"""Stop a trial early when a search's pruner says so (the search supplies the rule)."""
from __future__ import annotations

from paddle.callbacks import Callback

from .monitor import Monitor


class Pruning(Callback):
    """After each evaluation, report the monitored value to `report(value, step) -> bool`
    (e.g. an Optuna trial's report + should_prune); when it answers True, stop training at the
    end of the epoch and keep `pruned`, `stop_reason` and the number of epochs trained."""

    def __init__(self, report, monitor: str = "acc"):
        super().__init__()
        self.report, self.monitor = report, Monitor(monitor)
        self.pruned, self.stop_reason, self.epochs = False, None, 0

    def on_train_begin(self, logs=None):
        self.pruned, self.stop_reason, self.epochs = False, None, 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1

    def on_eval_end(self, logs=None):
        value = self.monitor.read(logs)
        epoch = int((logs or {}).get("epoch", 0))
        if value is not None and not self.pruned and self.report(value, epoch):
            self.pruned = True
            self.stop_reason = f"pruned by the search at epoch {epoch} ({self.monitor.name} " \
                               f"= {value:.4g})"
            self.model.stop_training = True
