"""Early stopping on an evaluation metric, with best-weight restoration."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Literal

from ..errors import OptionError
from ..runs.resume_checkpoint import WeightSet
from .monitor import Monitor, missing_metric, weights_copy
from .run_state import RunCallback, run_epoch

log = logging.getLogger("paddle_suite")


@dataclass(frozen=True)
class StopState:
    """What early stopping remembers between evaluations."""

    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0


def _reaches(value: float, threshold: float, mode: str) -> bool:
    """Strictly better than `threshold` in the monitor's direction (Lightning's rule)."""
    return value < threshold if mode == "min" else value > threshold


def stopping_decision(state: StopState, value: float, epoch: int, monitor: Monitor, *,
                      patience: int, baseline: float | None = None,
                      start_from_epoch: int = 0, stopping_threshold: float | None = None,
                      divergence_threshold: float | None = None, check_finite: bool = True
                      ) -> tuple[StopState, bool, str | None]:
    """Decide after one evaluation at (1-based) `epoch`: returns (new state, stop?, reason).

    In this order (Lightning's `_evaluate_stopping_criteria`, Keras' patience):
    - evaluations at epochs <= `start_from_epoch` are ignored (Keras: that many warm-up
      epochs);
    - `check_finite`: a NaN or infinite value stops at once;
    - `stopping_threshold`: stop once the value is strictly better than it (the value is
      still recorded as the best when it improves);
    - `divergence_threshold`: stop once the value is strictly worse than it;
    - an improvement (beyond min_delta) records a new best, and resets the patience count
      only when it also beats `baseline` (when set);
    - otherwise the count grows; at `patience` evaluations without improvement it stops.
      `patience: 0` stops at the first evaluation that does not improve. As in Keras, the
      count never stops a run at its first epoch.
    """
    if epoch <= start_from_epoch:
        return state, False, None
    before = f" (best {state.best:.6g} at epoch {state.best_epoch})" if state.best is not None \
        else ""
    if check_finite and not math.isfinite(value):
        return state, True, f"{monitor.name} = {value} is not finite{before}"
    improved = monitor.improved(value, state.best)
    if improved:
        state = replace(state, best=value, best_epoch=epoch)
    if stopping_threshold is not None and _reaches(value, stopping_threshold, monitor.mode):
        return state, True, (f"{monitor.name} = {value:.6g} reached the stopping threshold "
                             f"{stopping_threshold:g} at epoch {epoch}")
    if divergence_threshold is not None and _reaches(divergence_threshold, value, monitor.mode):
        return state, True, (f"{monitor.name} = {value:.6g} passed the divergence threshold "
                             f"{divergence_threshold:g} at epoch {epoch}{before}")
    if improved and (baseline is None or monitor.improved(value, baseline)):
        return replace(state, wait=0), False, None
    state = replace(state, wait=state.wait + 1)
    if improved or state.wait < patience or epoch <= 1:
        return state, False, None
    since = f"since epoch {state.best_epoch}" if state.best_epoch else "at all"
    target = f" beyond the baseline {baseline:g}" if baseline is not None else ""
    return state, True, (f"{monitor.name} did not improve{target} for {state.wait} "
                         f"evaluations (best {state.best:.6g} {since})"
                         if state.best is not None else
                         f"{monitor.name} never improved for {state.wait} evaluations")


class EarlyStopping(RunCallback):
    """Stop training when an evaluation metric stops improving. Acts in `on_eval_end`.

    Args:
        monitor: an eval log key: 'loss' (the true mean eval loss with the suite's metrics),
            'acc', 'acc_top5', ... .
        mode: 'min' / 'max', or 'auto' (inferred for loss- and accuracy-like names).
        patience: evaluations without improvement before stopping; 0 stops at the first
            evaluation that does not improve (Keras' meaning).
        min_delta: the smallest change that counts as an improvement.
        baseline: the metric must beat this for the patience counter to reset.
        start_from_epoch: ignore the evaluations of the first this many epochs.
        stopping_threshold: stop as soon as the metric is strictly better than this.
        divergence_threshold: stop as soon as the metric is strictly worse than this.
        check_finite: stop as soon as the metric is NaN or infinite.
        restore_best_weights: when training ends, however it ends (this callback, another
            one, the last epoch), put back the weights of the best evaluation.
    See docs/training_control.md for how each option compares with Keras and Lightning.
    The stop reason is logged and kept in `stop_reason`.
    """

    def __init__(self, monitor: str = "loss", mode: Literal["auto", "min", "max"] = "auto",
                 patience: int = 5, min_delta: float = 0.0, baseline: float | None = None,
                 start_from_epoch: int = 0, stopping_threshold: float | None = None,
                 divergence_threshold: float | None = None, check_finite: bool = True,
                 restore_best_weights: bool = True):
        super().__init__()
        if patience < 0:
            raise OptionError("patience: must be >= 0 (0 stops at the first evaluation that "
                              "does not improve).")
        if start_from_epoch < 0:
            raise OptionError("start_from_epoch: must be >= 0.")
        self.monitor = Monitor(monitor, mode, min_delta)
        self.patience, self.baseline = patience, baseline
        self.start_from_epoch, self.stopping_threshold = start_from_epoch, stopping_threshold
        self.divergence_threshold, self.check_finite = divergence_threshold, check_finite
        self.restore_best_weights = restore_best_weights
        self.reset()

    def reset(self):
        self.state, self.stop_reason, self.best_weights, self.restored = StopState(), None, None, False
        self.epoch, self.last_epoch, self.last_is_best = 0, None, False

    def on_train_begin(self, logs=None):
        self.reset()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = run_epoch(self, epoch)

    def on_eval_end(self, logs=None):
        value = self.monitor.read(logs)
        if value is None:
            raise missing_metric("EarlyStopping", self.monitor.name, logs)
        epoch = int((logs or {}).get("epoch", self.epoch))
        before = self.state.best
        self.state, stop, reason = stopping_decision(
            self.state, value, epoch, self.monitor, patience=self.patience,
            baseline=self.baseline, start_from_epoch=self.start_from_epoch,
            stopping_threshold=self.stopping_threshold,
            divergence_threshold=self.divergence_threshold, check_finite=self.check_finite)
        if epoch > self.start_from_epoch:  # an evaluation, not an epoch: several may share one
            self.last_epoch = epoch
            self.last_is_best = self.state.best != before or self.best_weights is None
            if self.restore_best_weights and self.last_is_best:
                self.best_weights = weights_copy(self.model.network)
        if stop and not self.stop_reason:
            self.stop_reason = f"early stopping: {reason}"
            log.info(self.stop_reason)
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        """Restore the best weights whatever ended training (Keras' rule)."""
        if not self.restore_best_weights or self.best_weights is None:
            return
        if self.last_is_best:
            log.info("early stopping: the last evaluated weights (epoch %s) are the best; kept",
                     self.last_epoch)
            return
        self.model.network.set_state_dict(self.best_weights)
        self.restored = True
        log.info("early stopping: restored the weights of epoch %s (%s %.6g); the run ended "
                 "at epoch %s", self.state.best_epoch, self.monitor.name, self.state.best,
                 self.last_epoch)

    def state_dict(self) -> dict:
        return {"best": self.state.best, "best_epoch": self.state.best_epoch,
                "wait": self.state.wait, "stop_reason": self.stop_reason,
                "best_weights": None if self.best_weights is None
                else WeightSet(self.best_weights), "last_epoch": self.last_epoch,
                "last_is_best": self.last_is_best}

    def load_state_dict(self, state: dict) -> None:
        self.state = StopState(state["best"], state["best_epoch"], state["wait"])
        self.stop_reason, self.best_weights = state["stop_reason"], state["best_weights"]
        self.last_epoch = state.get("last_epoch")
        self.last_is_best = state.get("last_is_best", False)
