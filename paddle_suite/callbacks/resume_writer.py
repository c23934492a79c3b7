"""Write resume checkpoints (after every epoch, and mid-epoch when asked or preempted);
restore one when training starts."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.rng import paddle_rng_state, rng_state, set_paddle_rng_state, set_rng_state
from ..errors import Preempted
from ..runs.resume_checkpoint import CheckpointError, Resume, link_last, save_resume
from .run_state import Phase, RunCallback, run_epoch, state_of

log = logging.getLogger("paddle_suite")


@dataclass
class MidEpoch:
    """What mid-epoch checkpoints need from the run: when to write them and the parts of
    the run that hold an epoch's position. `sampler`: the train loader's
    ResumableBatchSampler; `metrics`: hapi's train metrics (their sums so far)."""

    sampler: object
    metrics: list
    every_steps: int | None = None      # Global.save_steps: every N optimizer updates
    every_minutes: float | None = None  # Global.save_minutes
    accumulate: int = 1                 # batches per update: checkpoints fall between updates
    stop: object = None                 # a preemption.StopRequest
    rank: int = 0
    processes: int = 1
    agree: object = list    # [flags] -> [each flag raised by any process]; one process: as is
    gather: object = lambda obj: [obj]  # obj -> [every process's obj]


def step_checkpoint_due(batches: int, epoch_batches: int, accumulate: int, updates: int,
                        every_steps: int | None, minutes: float,
                        every_minutes: float | None, stopping: bool) -> bool:
    """Whether to write a mid-epoch checkpoint after `batches` of an epoch of
    `epoch_batches` (`updates`: optimizer updates of the whole run; `minutes` since the
    last checkpoint). Only between updates, never at the epoch's end (its own checkpoint
    follows)."""
    if batches % accumulate or batches >= epoch_batches:
        return False
    return stopping or bool(every_steps and updates % every_steps == 0) \
        or bool(every_minutes and minutes >= every_minutes)


class ResumeState(RunCallback):
    """Keeps a run resumable: after each epoch, a checkpoint of the weights, the optimizer
    (LR schedule position included), every callback in `stateful` (name -> callback with
    `state_dict`/`load_state_dict`) and the random states, with `last.pdparams` and
    `last.pdopt` beside `directory` hard-linked to its weights and optimizer state, and
    whether a callback stopped the run at that epoch (`stopped`: a resume then only finishes
    the run's final files); with `resume`, restores them all when `fit` starts.

    With `mid_epoch` it also writes checkpoints between updates (`Global.save_steps`,
    `save_minutes`, or when a preemption signal arrived: it then stops the run with
    `Preempted`). Such a checkpoint also holds the epoch's position: the random state at the
    epoch's start (the data order repeats), the host random state before the next batch's
    augmentation, paddle's random state now, the callbacks' `epoch_state()` and the train
    metrics' sums; a resume skips the batches already trained and goes on bit-identical.

    Phase PERSIST, after every other callback: it must see every other callback's state
    after their hooks, and its `on_train_begin`/`on_epoch_begin` must run after theirs
    (which reset state). Network and optimizer are restored by the caller before `fit`.
    """

    phase = Phase.PERSIST

    def __init__(self, directory, optimizer, stateful: dict, resume: Resume | None = None,
                 callback_state: dict | None = None, saved: dict | None = None, store=None,
                 mid_epoch: MidEpoch | None = None):
        super().__init__()
        self.store = store  # the run's CheckpointStore: weights written once per epoch
        self.saved = dict(saved or {})  # e.g. the config signature and the LR plan
        self.started, self.wall_before = time.perf_counter(), 0.0
        self.directory = Path(directory) if directory is not None else None
        self.optimizer = optimizer
        self.stateful, self.resume = stateful, resume
        self.callback_state = callback_state
        self.mid_epoch = mid_epoch
        self.epoch_rng, self.last_saved, self.pending = None, time.monotonic(), None

    def wall_seconds(self) -> float:
        """Wall time of the whole run: every segment before a resume, and this one."""
        return self.wall_before + time.perf_counter() - self.started

    def check_restorable(self) -> None:
        """Load every saved callback state once now, before training starts, so an altered
        checkpoint is a named error before the run goes on (`on_train_begin` restores them
        again after the callbacks' own resets)."""
        if self.resume:
            self._restore_callbacks()
            self._check_processes()

    def _check_processes(self) -> None:
        """A mid-epoch checkpoint holds each process's place in its shard: it continues
        only with as many processes as wrote it."""
        positions = self.callback_state.get("position")
        if positions is None or self.mid_epoch is None:
            return
        if len(positions) != self.mid_epoch.processes:
            before = self.resume.path.parent / f"epoch-{self.resume.epoch:04d}"
            instead = f"from the end of epoch {self.resume.epoch}: -o Global.checkpoints=" \
                f"{before}" if self.resume.epoch else "start the run again"
            raise CheckpointError(
                f"{self.resume.path}: a mid-epoch checkpoint written by {len(positions)} "
                f"process(es); it continues only with {len(positions)} (this run has "
                f"{self.mid_epoch.processes}). Resume with that many, or {instead}.")

    def _restore_callbacks(self) -> None:
        try:
            for name, callback in self.stateful.items():
                if name in self.callback_state["callbacks"]:
                    callback.load_state_dict(self.callback_state["callbacks"][name])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise CheckpointError(f"{self.resume.path / 'state.pkl'}: its saved state does not "
                                  f"restore ({type(exc).__name__}: {exc}); the checkpoint was "
                                  "altered. Remove it to resume from the one before.") from None

    def on_train_begin(self, logs=None):
        self.started, self.last_saved = time.perf_counter(), time.monotonic()
        if self.resume:
            self.wall_before = float(self.callback_state.get("wall_seconds", 0.0))
        if not self.resume:
            return
        self._restore_callbacks()
        set_rng_state(self.callback_state["rng"])
        self.pending = self.callback_state.get("position")  # a mid-epoch checkpoint's
        log.info("resumed from %s after epoch %d%s", self.resume.path, self.resume.epoch,
                 f" and {self.resume.step} batches of the next" if self.resume.step else "")

    def on_epoch_begin(self, epoch, logs=None):
        position, self.pending = self.pending, None
        if position is None:
            self.epoch_rng = rng_state()  # the data order of this epoch follows from it
            return
        position = position[self.mid_epoch.rank]  # each process's own
        self.epoch_rng = position["epoch_rng"]
        set_rng_state(position["epoch_rng"])
        set_paddle_rng_state(position["paddle_rng"])
        for name, state in position["callbacks"].items():
            self.stateful[name].load_epoch_state(state)
        for metric, sums in zip(self.mid_epoch.metrics, position["metrics"]):
            vars(metric).update(sums)
        self.mid_epoch.sampler.resume_at(position["batches"], position["host_rng"])

    def on_train_batch_end(self, step, logs=None):
        mid = self.mid_epoch
        state = state_of(self)
        if mid is None or state.epoch_batches % mid.accumulate:
            return  # between the batches of one update
        stopping = mid.stop is not None and mid.stop.requested
        due = step_checkpoint_due(state.epoch_batches, len(mid.sampler.inner), mid.accumulate,
                                  state.global_step // mid.accumulate, mid.every_steps,
                                  (time.monotonic() - self.last_saved) / 60,
                                  mid.every_minutes, stopping)
        due, stopping = mid.agree([due, stopping])  # every process alike, at one update
        if not due:
            return
        self._save_mid_epoch(state)
        if stopping:
            raise Preempted(self._preempted_message(state))

    def on_epoch_end(self, epoch, logs=None):
        if self.directory is not None:  # a data-parallel rank other than 0 never saves
            self._save(run_epoch(self, epoch), 0, {
                "stopped": bool(getattr(self.model, "stop_training", False))})
        mid = self.mid_epoch
        if mid is None or mid.stop is None:
            return
        (stopping,) = mid.agree([mid.stop.requested])
        if stopping:
            raise Preempted(self._preempted_message(state_of(self)))

    def _save_mid_epoch(self, state) -> None:
        mid = self.mid_epoch
        position = {"batches": state.epoch_batches, "epoch_rng": self.epoch_rng,
                    "host_rng": mid.sampler.host_rng_before(state.epoch_batches),
                    "paddle_rng": paddle_rng_state(),
                    "callbacks": {name: cb.epoch_state() for name, cb in self.stateful.items()
                                  if hasattr(cb, "epoch_state")},
                    "metrics": [_sums(m) for m in mid.metrics]}
        positions = mid.gather(position)
        if self.directory is not None:
            self._save(state.epoch - 1, state.epoch_batches, {"stopped": False,
                                                              "position": positions})

    def _save(self, epoch: int, batches: int, extra: dict) -> None:
        states = {name: cb.state_dict() for name, cb in self.stateful.items()}
        rng = self.epoch_rng if batches else rng_state()
        saved = save_resume(self.directory, epoch, self.model.network, self.optimizer,
                            {"callbacks": states, "rng": rng,
                             "wall_seconds": self.wall_seconds(), **extra, **self.saved},
                            store=self.store, batches=batches)
        link_last(saved, self.directory.parent)
        self.last_saved = time.monotonic()

    def _preempted_message(self, state) -> str:
        where = self.directory.parent.parent if self.directory is not None else "rank 0's run"
        signal_name = self.mid_epoch.stop.signal_name or "another process's stop signal"
        return (f"{signal_name} received; stopped after update "
                f"{state.global_step // self.mid_epoch.accumulate} (epoch {state.epoch}, "
                f"batch {state.epoch_batches}) with a resume checkpoint in {where}. Run the "
                "same command with -o Global.resume=auto (or --resume) to continue it.")


def _sums(metric) -> dict:
    """A train metric's running sums (paddle's Accuracy and the suite's MeanLoss keep
    `total` and `count`)."""
    return {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(metric).items()
            if k in ("total", "count")}


class SampleSeedEpochs(RunCallback):
    """Tell the train data's per-sample seeds (data/resumable.SampleSeeds, used with
    `num_workers > 0`) which epoch starts, before its workers start."""

    phase = Phase.GUARD

    def __init__(self, sample_seeds):
        super().__init__()
        self.sample_seeds = sample_seeds

    def on_epoch_begin(self, epoch, logs=None):
        self.sample_seeds.epoch = run_epoch(self, epoch)
