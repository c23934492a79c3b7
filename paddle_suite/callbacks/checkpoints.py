"""Keep the last and the best weights of a run, written atomically."""
from __future__ import annotations

from pathlib import Path

from paddle.callbacks import Callback

from ..checkpoint import atomic_save
from .monitor import Monitor


class CheckpointSaver(Callback):
    """Write `last.pdparams` (+ `last.pdopt`) after every epoch and `best.pdparams` whenever
    the monitored eval metric improves, into `directory`. Files are replaced atomically, so
    an interruption never leaves a half-written checkpoint behind.
    """

    def __init__(self, directory: str | Path, monitor: Monitor, optimizer=None):
        super().__init__()
        self.directory, self.monitor, self.optimizer = Path(directory), monitor, optimizer
        self.best = None

    def on_train_begin(self, logs=None):
        self.best = None
        self.directory.mkdir(parents=True, exist_ok=True)

    def on_eval_end(self, logs=None):
        value = self.monitor.read(logs)
        if self.monitor.improved(value, self.best):
            self.best = value
            atomic_save(self.model.network.state_dict(), self.directory / "best.pdparams")

    def on_epoch_end(self, epoch, logs=None):
        atomic_save(self.model.network.state_dict(), self.directory / "last.pdparams")
        if self.optimizer is not None:
            atomic_save(self.optimizer.state_dict(), self.directory / "last.pdopt")
