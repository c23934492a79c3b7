"""The run's own record of where training is, kept in one place and read by every callback.

`RunState` holds the epoch (resumed epochs included), the step counts, the epoch's train
time and samples, the best value of the run's monitored metric and why training stopped.
`RunClock`, the first callback of a run, is the only writer of the counters, the times and
the best value; the other callbacks read them (`state_of(callback)`) instead of keeping
their own copies, so samples/s, the epoch number and the best value are one number
everywhere (metrics.jsonl, the log, VisualDL, checkpoints, summary.json).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

from paddle.callbacks import Callback

from .monitor import Monitor

PARAMS_KEY = "run_state"  # where hapi's params (shared by every callback of a fit) hold it


@dataclass
class RunState:
    """Where the run is. Epochs are 1-based numbers within the whole run."""

    epochs_before: int = 0            # epochs done before this process started (a resume)
    total_epochs: int | None = None   # epochs of the whole run
    epoch: int = 0                    # the current (or last) epoch
    global_step: int = 0              # training batches of the whole run
    epoch_batches: int = 0            # training batches of the current epoch so far
    epoch_samples: int = 0            # training samples of the current epoch so far
    epoch_seconds: float = 0.0        # train time of the current epoch (evaluation excluded)
    train_seconds: float = 0.0        # train time of the finished epochs (this run segment)
    train_samples: int = 0
    best_value: float | None = None   # best evaluation of the monitored metric
    best_epoch: int | None = None
    improved: bool = False            # the latest evaluation improved best_value
    stop_reason: str | None = None
    monitor: Monitor | None = field(default=None, repr=False, compare=False)

    @property
    def samples_per_second(self) -> float:
        """The current (or last) epoch's training samples per second of train time."""
        return self.epoch_samples / self.epoch_seconds if self.epoch_seconds else math.nan

    PERSISTED = ("global_step", "best_value", "best_epoch", "train_seconds", "train_samples")

    def state_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k in self.PERSISTED}

    def load_state_dict(self, state: dict) -> None:
        for key in self.PERSISTED:
            setattr(self, key, state[key])


def state_of(callback) -> RunState:
    """The run's state as a callback sees it; a callback used on its own (outside a run
    that has a RunClock) gets a state that counts epochs from hapi's index."""
    params = callback.params if isinstance(getattr(callback, "params", None), dict) else {}
    return params.get(PARAMS_KEY) or _standalone(callback)


def _standalone(callback) -> RunState:
    state = getattr(callback, "_standalone_state", None)
    if state is None:
        state = callback._standalone_state = RunState()
    return state


class RunClock(Callback):
    """Keeps the `RunState`: put it first, so every other callback reads this batch's and
    this epoch's numbers. It also receives each evaluation first (the Evaluator's first
    listener) and records whether it improved the monitored metric."""

    def __init__(self, state: RunState):
        super().__init__()
        self.state = state

    def on_train_begin(self, logs=None):
        self.params[PARAMS_KEY] = self.state
        if self.state.total_epochs is None:
            self.state.total_epochs = self.state.epochs_before + self.params.get("epochs", 0)

    def on_epoch_begin(self, epoch, logs=None):
        state = self.state
        state.epoch = state.epochs_before + epoch + 1
        state.epoch_batches, state.epoch_samples, state.epoch_seconds = 0, 0, 0.0
        self.started = time.perf_counter()

    def on_train_batch_end(self, step, logs=None):
        state = self.state
        state.global_step += 1
        state.epoch_batches += 1
        state.epoch_samples += int((logs or {}).get("batch_size", 0))
        state.epoch_seconds = time.perf_counter() - self.started

    def on_eval_end(self, logs=None):
        state, logs = self.state, logs or {}
        value = state.monitor.read(logs) if state.monitor else None
        state.improved = value is not None and value == value and \
            state.monitor.improved(value, state.best_value)
        if state.improved:
            state.best_value, state.best_epoch = value, logs.get("epoch")

    def on_epoch_end(self, epoch, logs=None):
        self.state.train_seconds += self.state.epoch_seconds
        self.state.train_samples += self.state.epoch_samples

    def state_dict(self) -> dict:
        return self.state.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.state.load_state_dict(state)


def run_epoch(callback, epoch: int) -> int:
    """The 1-based epoch number within the whole run for hapi's 0-based `epoch` index
    (after a resume, `fit` counts from 0 again)."""
    return state_of(callback).epochs_before + epoch + 1


def total_epochs(callback) -> int | None:
    """Epochs of the whole run (done before a resume + this `fit`)."""
    return state_of(callback).total_epochs or (callback.params or {}).get("epochs")
