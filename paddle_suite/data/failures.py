"""Surfacing data errors from paddle's DataLoader thread without hanging.

Paddle defect (3.3.1, tests/integration/test_data_failures.py shows it): with
`num_workers=0`, `paddle.io.DataLoader` reads samples in a background thread; when
`__getitem__` or `collate_fn` raises there, the main thread blocks forever in
`ReadNextList()`: an unreadable image hangs training instead of failing. (With worker
processes, paddle raises `SystemError: Blocking queue is killed...` at once, with the
worker's traceback printed above it.)

The workaround, in this module only: in the loader thread, sample reads and collation never
raise. The first failure is recorded in a `FailureBox` and a stand-in (a sample read
successfully in the main thread beforehand) is returned; `DataFailureGuard` raises the
recorded error in the main thread before the next training step or at the end of an
evaluation, so no metric is ever reported over stand-in data.
"""
from __future__ import annotations

import threading

import numpy as np
from paddle.callbacks import Callback
from paddle.io.dataloader.collate import default_collate_fn

from ..errors import DataError, UserError


class FailureBox:
    """The first data failure seen in the loader thread (thread-safe)."""

    def __init__(self):
        self._lock, self.message = threading.Lock(), None

    def record(self, message: str) -> None:
        with self._lock:
            if self.message is None:
                self.message = message

    def check(self) -> None:
        """Raise the recorded failure as a DataError in the calling (main) thread."""
        if self.message is not None:
            raise DataError(self.message)


def describe(exc: Exception, where: str) -> str:
    """One paragraph for a failure while reading or transforming the sample at `where`."""
    if isinstance(exc, UserError):
        return str(exc)
    return f"{where}: reading or transforming this sample failed: {type(exc).__name__}: {exc}."


class SafeCollate:
    """Collate a batch; on failure (e.g. images of different sizes) record it and return a
    batch of stand-ins so the loader thread keeps running."""

    def __init__(self, box: FailureBox, inner=None):
        self.box, self.inner = box, inner or default_collate_fn
        self.fallback = None

    def __call__(self, batch):
        try:
            return self.inner(batch)
        except Exception as exc:  # noqa: BLE001 - reported in the main thread
            shapes = sorted({str(tuple(np.shape(sample[0]))) for sample in batch})
            hint = (f" The batch holds images of shapes {', '.join(shapes)}; add a Resize or "
                    "CenterCrop transform so that every image has the same size."
                    if len(shapes) > 1 else "")
            self.box.record(f"Collating a batch failed: {type(exc).__name__}: {exc}.{hint}")
            return self.inner([self.fallback])  # one stand-in: never used, only carried


class DataFailureGuard(Callback):
    """Raise, in the main thread, a data failure recorded in the loader thread."""


    def __init__(self, boxes):
        super().__init__()
        self.boxes = list(boxes)

    def check(self):
        for box in self.boxes:
            box.check()

    def on_train_batch_begin(self, step, logs=None):
        self.check()

    def on_epoch_end(self, epoch, logs=None):
        self.check()
