"""Workarounds for paddle.Model (hapi) behaviours, each guarded by a regression test.

- `Model.stop_training` is set to False only in `Model.__init__`: after one early-stopped
  `fit`, every later `fit` on the same model stops after its first epoch. `ResetStopTraining`
  clears it when training begins.
- `Model.evaluate` sets `Model.num_iters` to its own argument (None), so an evaluation
  inside `fit(num_iters=N)` cancels the iteration limit and training runs whole epochs.
  `preserved_num_iters` puts the limit back after an evaluation.
- `Model._run_one_epoch(..., logs={})` has a mutable default: train and eval passes write
  into ONE shared dict. Evaluating inside `on_epoch_end` (or mid-epoch) therefore replaces
  the train logs that later callbacks receive with eval values. `preserved_logs` restores
  them after an evaluation.
"""
from __future__ import annotations

import contextlib

from paddle.callbacks import Callback

from .run_state import Phase


@contextlib.contextmanager
def preserved_num_iters(model):
    """Keep `fit`'s iteration limit across a `Model.evaluate` call (see module doc)."""
    limit = getattr(model, "num_iters", None)
    try:
        yield
    finally:
        if limit is not None:
            model.num_iters = limit


@contextlib.contextmanager
def preserved_logs(logs: dict | None):
    """Restore the contents of hapi's shared `logs` dict after the block (see module doc)."""
    saved = dict(logs) if logs is not None else None
    try:
        yield
    finally:
        if logs is not None:
            logs.clear()
            logs.update(saved)


class ResetStopTraining(Callback):
    """Clear `model.stop_training` at the start of every `fit` (hapi never resets it)."""

    phase = Phase.GUARD

    def on_train_begin(self, logs=None):
        self.model.stop_training = False


def end_training(model, callbacks, steps: int) -> None:
    """What `Model.fit` does around zero epochs: the callbacks' train begin and train end,
    as fit would set them up. `fit(epochs=0)` itself fails (paddle 3.3.1: its closing
    `on_end('train', logs)` reads `logs`, which only the epoch loop sets;
    tests/unit/test_hapi_behaviour.py shows it). Used to finish a run whose epochs were all
    trained before a kill during its final writes."""
    from paddle.hapi.callbacks import config_callbacks
    cbks = config_callbacks(callbacks, model=model, epochs=0, steps=steps, verbose=0,
                            metrics=["loss"])
    cbks.on_begin("train")
    cbks.on_end("train", {})
