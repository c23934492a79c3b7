"""Snapshot ensembles: save the weights at the end of every LR cycle."""
from __future__ import annotations

import logging
from pathlib import Path

from ..runs.store import CheckpointStore
from .run_state import Phase, RunCallback, run_epoch

log = logging.getLogger("paddle_suite")


def cycle_ended(last_lr: float, next_lr: float) -> bool:
    """A cycle ends where the LR is about to rise again (a warm restart)."""
    return next_lr > last_lr * (1 + 1e-9)


class Snapshots(RunCallback):
    """Save `snapshot-e{epoch}.pdparams` into `directory` whenever the LR schedule restarts
    (cosine with warm restarts, cyclic LR) and at the last epoch.

    Place it after the LR stepper: it compares the LR of the epoch's last update with the LR
    the next update will use. `saved` lists the files written.
    """

    phase = Phase.AFTER_STEP

    def __init__(self, directory, lr_getter, store: CheckpointStore | None = None):
        super().__init__()
        self.directory = Path(directory) if directory else None
        self.store = store or CheckpointStore()
        self.lr_getter = lr_getter
        self.saved, self.last_lr = [], None

    def on_train_begin(self, logs=None):
        self.saved = []

    def on_train_batch_begin(self, step, logs=None):
        self.last_lr = self.lr_getter()

    def on_epoch_end(self, epoch, logs=None):
        final = epoch + 1 == self.params.get("epochs")
        if final or cycle_ended(self.last_lr, self.lr_getter()):
            number = run_epoch(self, epoch)
            path = self.directory / f"snapshot-e{number:03d}.pdparams"
            self.store.save(self.model.network.state_dict(), path)
            self.saved.append(str(path))
            log.info("snapshot %d saved at the end of epoch %d: %s", len(self.saved), number,
                     path.name)

    def state_dict(self) -> dict:
        return {"saved": list(self.saved)}

    def load_state_dict(self, state: dict) -> None:
        self.saved = list(state["saved"])
