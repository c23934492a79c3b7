"""Early stopping on an evaluation metric, with best-weight restoration."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

from paddle.callbacks import Callback

from ..errors import ConfigError
from .monitor import Monitor, missing_metric, run_epoch, weights_copy

log = logging.getLogger("paddle_suite")


@dataclass(frozen=True)
class StopState:
    """What early stopping remembers between evaluations."""

    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0


def stopping_decision(state: StopState, value: float, epoch: int, monitor: Monitor, *,
                      patience: int, baseline: float | None = None,
                      start_from_epoch: int = 0, stopping_threshold: float | None = None
                      ) -> tuple[StopState, bool, str | None]:
    """Decide after one evaluation: returns (new state, stop?, reason).

    - Evaluations before `start_from_epoch` are ignored (warm-up).
    - An improvement (beyond min_delta) records a new best; the patience counter resets only
      if the value also beats `baseline` (when one is set).
    - `stopping_threshold`: stop as soon as the metric reaches it (below it for 'min',
      above it for 'max').
    - After `patience` evaluations in a row without improvement, stop.
    """
    if epoch < start_from_epoch:
        return state, False, None
    if stopping_threshold is not None and value == value and (
            value <= stopping_threshold if monitor.mode == "min" else value >= stopping_threshold):
        best = state.best if not monitor.improved(value, state.best) else value
        return replace(state, best=best), True, (
            f"{monitor.name} = {value:.6g} reached the stopping threshold {stopping_threshold:g} "
            f"at epoch {epoch}")
    if monitor.improved(value, state.best):
        state = replace(state, best=value, best_epoch=epoch)
        if baseline is None or monitor.improved(value, baseline):
            return replace(state, wait=0), False, None
    state = replace(state, wait=state.wait + 1)
    if state.wait >= patience:
        since = f"since epoch {state.best_epoch}" if state.best_epoch else "at all"
        target = f" beyond the baseline {baseline:g}" if baseline is not None else ""
        return state, True, (f"{monitor.name} did not improve{target} for {state.wait} "
                             f"evaluations (best {state.best:.6g} {since})"
                             if state.best is not None else
                             f"{monitor.name} never improved for {state.wait} evaluations")
    return state, False, None


class EarlyStopping(Callback):
    """Stop training when an evaluation metric stops improving. Acts in `on_eval_end`.

    Args:
        monitor: an eval log key: 'loss' (the true mean eval loss with the suite's metrics),
            'acc', 'acc_top5', ... .
        mode: 'min' / 'max', or 'auto' (inferred for loss- and accuracy-like names).
        patience: evaluations without improvement before stopping (>= 1; hapi's default 0
            stops after the first evaluation).
        min_delta: the smallest change that counts as an improvement.
        baseline: the metric must beat this for the patience counter to reset.
        start_from_epoch: ignore evaluations before this epoch (1-based).
        stopping_threshold: stop as soon as the metric reaches this value.
        restore_best_weights: at the end, put back the weights of the best evaluation.
    The stop reason is logged and kept in `stop_reason`.
    """

    def __init__(self, monitor: str = "loss", mode: Literal["auto", "min", "max"] = "auto",
                 patience: int = 5, min_delta: float = 0.0, baseline: float | None = None,
                 start_from_epoch: int = 0, stopping_threshold: float | None = None,
                 restore_best_weights: bool = True):
        super().__init__()
        if patience < 1:
            raise ConfigError("Callbacks.EarlyStopping.patience: must be at least 1 (0 would stop after "
                              "the first evaluation).")
        self.monitor = Monitor(monitor, mode, min_delta)
        self.patience, self.baseline = patience, baseline
        self.start_from_epoch, self.stopping_threshold = start_from_epoch, stopping_threshold
        self.restore_best_weights = restore_best_weights
        self.reset()

    def reset(self):
        self.state, self.stop_reason, self.best_weights, self.restored = StopState(), None, None, False
        self.epoch = 0

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
            stopping_threshold=self.stopping_threshold)
        if self.restore_best_weights and self.state.best is not None and self.state.best != before:
            self.best_weights = weights_copy(self.model.network)
        if stop and not self.stop_reason:
            self.stop_reason = f"early stopping: {reason}"
            log.info(self.stop_reason)
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None and self.stop_reason:
            self.model.network.set_state_dict(self.best_weights)
            self.restored = True
            log.info("early stopping: restored the weights of epoch %s (%s %.6g)",
                     self.state.best_epoch, self.monitor.name, self.state.best)

    def state_dict(self) -> dict:
        return {"best": self.state.best, "best_epoch": self.state.best_epoch,
                "wait": self.state.wait, "stop_reason": self.stop_reason,
                "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self.state = StopState(state["best"], state["best_epoch"], state["wait"])
        self.stop_reason, self.best_weights = state["stop_reason"], state["best_weights"]
