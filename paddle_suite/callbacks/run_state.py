"""The run's own record of where training is, kept in one place and read by every callback.

`RunState` holds the epoch (resumed epochs included), the step counts, the epoch's train
time and samples, the best value of the run's monitored metric and why training stopped.
`RunClock`, the first callback of a run, is the only writer of the counters, the times and
the best value; the other callbacks read them (`state_of(callback)`) instead of keeping
their own copies, so samples/s, the epoch number and the best value are one number
everywhere (metrics.jsonl, the log, VisualDL, checkpoints, summary.json).
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass, field

from paddle.callbacks import Callback

from .monitor import Monitor

PARAMS_KEY = "run_state"  # where hapi's params (shared by every callback of a fit) hold it


class Phase:
    """When in each hook a callback acts, relative to the others: a run's callbacks are
    sorted by their `phase` (ties keep the order they were listed in). A callback that
    declares none acts with the watchers."""

    CLOCK = 0      # counts the batch and the epoch: everyone reads this first
    GUARD = 10     # acts on the batch before anything records it (NaN, failures, shards)
    AVERAGE = 20   # weight averages that follow the update (EMA)
    EVALUATE = 30  # runs evaluations and hands them to its listeners
    WATCH = 40     # reads logs and evaluations: records, checkpoints, stopping, logging
    STEP = 50      # steps the LR schedule
    AFTER_STEP = 60  # needs the stepped schedule (snapshots, SWA, saliency maps)
    PERSIST = 90   # the resume checkpoint: holds every other callback's state


def phase_of(callback) -> int:
    return getattr(callback, "phase", Phase.WATCH)


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
    """The run's state as a callback sees it: the one its run's RunClock keeps, or under a
    plain `fit`, the one the first RunCallback of the list keeps (see RunCallback). A
    callback driven by hand, with no `fit` around it, gets a state of its own that only
    its caller advances."""
    params = callback.params if isinstance(getattr(callback, "params", None), dict) else {}
    state = params.get(PARAMS_KEY)
    if state is None:
        state = getattr(callback, "_unshared_state", None) or RunState()
        callback._unshared_state = state
    return state


class RunClock(Callback):
    """Keeps the `RunState` (phase CLOCK: before every other callback, which reads this
    batch's and this epoch's numbers). It also receives each evaluation first (the Evaluator's first
    listener) and records whether it improved the monitored metric."""

    phase = Phase.CLOCK

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

    def epoch_state(self) -> dict:
        """The current epoch's counts so far (a mid-epoch checkpoint)."""
        s = self.state
        return {"epoch_batches": s.epoch_batches, "epoch_samples": s.epoch_samples,
                "epoch_seconds": s.epoch_seconds}

    def load_epoch_state(self, state: dict) -> None:
        """Continue an epoch from `epoch_state()` (after `on_epoch_begin` reset it)."""
        for key, value in state.items():
            setattr(self.state, key, value)
        self.started = time.perf_counter() - self.state.epoch_seconds


def run_epoch(callback, epoch: int) -> int:
    """The 1-based epoch number within the whole run for hapi's 0-based `epoch` index
    (after a resume, `fit` counts from 0 again)."""
    return state_of(callback).epochs_before + epoch + 1


def total_epochs(callback) -> int | None:
    """Epochs of the whole run (done before a resume + this `fit`)."""
    return state_of(callback).total_epochs or (callback.params or {}).get("epochs")


CLOCK_HOOKS = ("on_train_begin", "on_epoch_begin", "on_train_batch_end", "on_eval_end",
               "on_epoch_end")


def _with_clock(name: str, hook):
    """`hook`, preceded by the callback's own clock's hook when it keeps one."""
    @functools.wraps(hook)
    def hooked(self, *args, **kwargs):
        if not self._in_hook:
            self._advance_clock(name, *args, **kwargs)
        self._in_hook, outer = True, self._in_hook
        try:
            return hook(self, *args, **kwargs)
        finally:
            self._in_hook = outer
    hooked.advances_clock = True
    return hooked


class RunCallback(Callback):
    """Base of the callbacks that read the RunState, so each works on its own.

    In the suite's run, the RunClock (first in the list) keeps the state and every
    RunCallback reads it. Under a plain `paddle.Model.fit` with no RunClock, the first
    RunCallback whose `on_train_begin` runs finds no state in hapi's shared params, starts
    a RunClock of its own there, and advances it from its own hooks before its own work;
    the other callbacks of that `fit` read the same state. Put the Evaluator first: it
    evaluates in `on_epoch_end` and passes the results to its listeners, and the clock it
    keeps sees each evaluation before they do.
    """

    _in_hook = False
    _own_clock = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in CLOCK_HOOKS:
            hook = cls.__dict__.get(name)
            if hook is not None and not getattr(hook, "advances_clock", False):
                setattr(cls, name, _with_clock(name, hook))

    def _advance_clock(self, name: str, *args, **kwargs) -> None:
        if name == "on_train_begin":
            params = self.params if isinstance(self.params, dict) else None
            self._own_clock = None
            if params is not None and PARAMS_KEY not in params:
                self._own_clock = RunClock(RunState())
                self._own_clock.set_params(params)
                self._own_clock.set_model(self.model)
        if self._own_clock is not None:
            getattr(self._own_clock, name)(*args, **kwargs)

    def clock_sees_evaluation(self, logs: dict) -> None:
        """Give an evaluation to the clock this callback keeps (if any) before anyone else
        sees it: the Evaluator calls it, being no listener of its own."""
        if self._own_clock is not None:
            self._own_clock.on_eval_end(logs)


for _name in CLOCK_HOOKS:
    setattr(RunCallback, _name, _with_clock(_name, getattr(Callback, _name)))
