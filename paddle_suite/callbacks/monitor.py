"""Shared logic for callbacks that watch a metric: reading it, its direction, improvement."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import OptionError

MAXIMIZED = ("acc", "acc_top", "precision", "recall", "f1", "auc")
MINIMIZED = ("loss", "error", "err")


def infer_mode(name: str) -> str:
    """'max' for accuracy-like names, 'min' for loss/error-like names, else a OptionError."""
    base = name.split("/")[-1].lower()
    for prefix in ("ema_", "swa_", "val_", "eval_", "train_"):
        base = base[len(prefix):] if base.startswith(prefix) else base
    if base.startswith(MAXIMIZED):
        return "max"
    if base.startswith(MINIMIZED) or base.endswith("loss"):
        return "min"
    raise OptionError(f"Cannot tell whether {name!r} should go up or down; set mode: max or "
                      "mode: min.")


def scalar(value) -> float:
    """Unwrap hapi's log values (lists like [1.36], numpy scalars) into a float."""
    while isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])


@dataclass
class Monitor:
    """A metric to watch: name, direction, and the smallest change that counts."""

    name: str = "acc"
    mode: Literal["auto", "min", "max"] = "auto"
    min_delta: float = 0.0
    threshold_mode: Literal["abs", "rel"] = "abs"  # rel: min_delta is a fraction of best

    def __post_init__(self):
        if self.mode == "auto":
            self.mode = infer_mode(self.name)
        if self.min_delta < 0:
            raise OptionError("min_delta: must be >= 0.")
        if self.threshold_mode == "rel" and self.min_delta >= 1:
            raise OptionError("min_delta: a relative threshold must be below 1.")

    def read(self, logs: dict) -> float | None:
        """The monitored value from `logs`, or None when it is absent."""
        if not logs or self.name not in logs:
            return None
        return scalar(logs[self.name])

    def improved(self, current: float, best: float | None) -> bool:
        """True when `current` beats `best` by more than min_delta (NaN never improves)."""
        if current is None or math.isnan(current):
            return False
        if best is None:
            return True
        if self.threshold_mode == "rel":  # PyTorch's ReduceLROnPlateau formula
            return (current > best * (1 + self.min_delta) if self.mode == "max"
                    else current < best * (1 - self.min_delta))
        if self.mode == "max":
            return current > best + self.min_delta
        return current < best - self.min_delta

    def worst(self) -> float:
        return -math.inf if self.mode == "max" else math.inf


def missing_metric(who: str, name: str, logs: dict | None) -> OptionError:
    """The error for a monitored metric that the eval logs do not have."""
    present = ", ".join(k for k in (logs or {}) if k not in ("epoch", "step", "eval_seconds"))
    return OptionError(f"{who}: the monitored {name!r} is not among this run's eval metrics "
                       f"({present or 'none'}){_suggest(name, (logs or {}).keys())}.")


def _suggest(name, choices):
    from ..core.schema import suggest
    return suggest(name, choices)


def weights_copy(net) -> dict:
    """A detached numpy copy of a network's state dict (parameters and buffers)."""
    return {k: v.numpy().copy() for k, v in net.state_dict().items()}
