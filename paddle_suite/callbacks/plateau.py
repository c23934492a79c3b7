"""Plateau decay: keep the LR while validation improves, cut it when it stalls, stop at a floor."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

from ..errors import OptionError
from .monitor import Monitor, missing_metric
from .run_state import RunCallback

log = logging.getLogger("paddle_suite")


@dataclass(frozen=True)
class PlateauState:
    """What plateau decay remembers between evaluations; `scale` multiplies the LR."""

    best: float | None = None
    wait: int = 0
    cooldown_left: int = 0
    scale: float = 1.0


def plateau_decision(state: PlateauState, value: float, monitor: Monitor, *, patience: int,
                     factor: float, floor_ratio: float, cooldown: int = 0,
                     at_floor: str = "stop") -> tuple[PlateauState, str, str | None]:
    """Decide after one evaluation: returns (new state, action, reason).

    action is 'keep', 'cut' (scale *= factor, never below floor_ratio) or 'stop' (a cut
    reached floor_ratio and `at_floor` is 'stop'). An improvement resets the counter;
    during `cooldown` evaluations after a cut the counter does not run (PyTorch's rule);
    after `patience` evaluations without improvement the LR is cut (Keras' count; PyTorch
    cuts after patience + 1). With `at_floor: continue` a cut due at the floor leaves the
    LR there and training goes on (Keras' and PyTorch's `min_lr`).
    """
    if monitor.improved(value, state.best):
        state = replace(state, best=value, wait=0)
    elif state.cooldown_left == 0:
        state = replace(state, wait=state.wait + 1)
    if state.cooldown_left > 0:
        return replace(state, cooldown_left=state.cooldown_left - 1, wait=0), "keep", None
    if state.wait < max(patience, 1):
        return state, "keep", None
    reason = (f"{monitor.name} did not improve for {state.wait} evaluations "
              f"(best {state.best:.6g})")
    at_bottom = state.scale <= floor_ratio * (1 + 1e-9)
    scale = max(state.scale * factor, floor_ratio)
    state = replace(state, scale=scale, wait=0, cooldown_left=cooldown)
    if at_bottom:  # only with at_floor: continue (a stop ends the run at the floor)
        return state, "keep", None
    if scale <= floor_ratio * (1 + 1e-9):
        floor = f"; the LR reached its floor, {scale:.6g} x its start"
        return state, ("stop" if at_floor == "stop" else "cut"), reason + floor
    return state, "cut", reason


class PlateauDecay(RunCallback):
    """Multiply the LR by `factor` when the monitored eval metric plateaus; stop training once
    the LR has fallen to `floor_ratio` times its starting value (default 1/1024), or with
    `at_floor: continue` keep training at that floor (Keras' and PyTorch's `min_lr`). The
    floor is never undershot. `threshold_mode: rel` makes `min_delta` a fraction of the best
    value (PyTorch's default). See docs/training_control.md for the comparison with peers.

    Needs the optimizer's LR to be a `paddle_suite.training.optim.ScaledLR` (wrap a float or any
    schedule, warm-up included: the whole schedule is scaled). Acts in `on_eval_end`.
    Every change is logged and kept in `changes` (epoch, scale, lr, reason).
    """

    def __init__(self, scaled_lr, monitor: str = "loss",
                 mode: Literal["auto", "min", "max"] = "auto", patience: int = 2,
                 factor: float = 0.5, floor_ratio: float = 1 / 1024, cooldown: int = 0,
                 min_delta: float = 0.0, threshold_mode: Literal["abs", "rel"] = "abs",
                 at_floor: Literal["stop", "continue"] = "stop"):
        super().__init__()
        if patience < 0:
            raise OptionError("patience: must be >= 0 (0 and 1 both cut at the first "
                              "evaluation that does not improve).")
        if not 0 < factor < 1:
            raise OptionError(f"factor: must be in (0, 1), got {factor}.")
        if not 0 < floor_ratio < 1:
            raise OptionError(f"floor_ratio: must be in (0, 1) (a floor at or above the "
                              f"starting LR never lets it fall), got {floor_ratio}.")
        if cooldown < 0:
            raise OptionError("cooldown: must be >= 0.")
        self.scaled_lr = scaled_lr
        self.monitor = Monitor(monitor, mode, min_delta, threshold_mode)
        self.patience, self.factor, self.floor_ratio, self.cooldown = \
            patience, factor, floor_ratio, cooldown
        self.at_floor = at_floor
        self.reset()

    def reset(self):
        self.state, self.changes, self.stop_reason = PlateauState(), [], None

    def on_train_begin(self, logs=None):
        self.reset()
        self.scaled_lr.set_scale(1.0)

    def on_eval_end(self, logs=None):
        value = self.monitor.read(logs)
        if value is None:
            raise missing_metric("PlateauDecay", self.monitor.name, logs)
        self.state, action, reason = plateau_decision(
            self.state, value, self.monitor, patience=self.patience, factor=self.factor,
            floor_ratio=self.floor_ratio, cooldown=self.cooldown, at_floor=self.at_floor)
        if action == "keep":
            return
        self.scaled_lr.set_scale(self.state.scale)
        change = {"epoch": (logs or {}).get("epoch"), "step": (logs or {}).get("step"),
                  "scale": self.state.scale, "lr": self.scaled_lr.last_lr, "reason": reason}
        self.changes.append(change)
        log.info("plateau decay: LR x%g -> %.6g (%s of the start) at epoch %s: %s",
                 self.factor, change["lr"], f"{self.state.scale:.6g}", change["epoch"], reason)
        if action == "stop":
            self.stop_reason = f"plateau decay: {reason}"
            log.info(self.stop_reason)
            self.model.stop_training = True

    def state_dict(self) -> dict:
        s = self.state
        return {"best": s.best, "wait": s.wait, "cooldown_left": s.cooldown_left,
                "scale": s.scale, "changes": list(self.changes), "stop_reason": self.stop_reason}

    def load_state_dict(self, state: dict) -> None:
        self.state = PlateauState(state["best"], state["wait"], state["cooldown_left"],
                                  state["scale"])
        self.changes, self.stop_reason = list(state["changes"]), state["stop_reason"]
        self.scaled_lr.set_scale(self.state.scale)
