"""The LR range test (Smith 2017; the fastai / Lightning "LR finder").

Train from the initial weights for a few hundred updates while the LR grows exponentially
from `lr_min` to `lr_max`; smooth the loss with an exponential moving average (bias
corrected); stop when it exceeds `diverge` x its best; suggest the LR where the smoothed loss
falls fastest (the steepest negative slope against log LR). The algorithm (`suggest`,
`schedule`) is pure; `LRSweep` is a thin callback that drives `paddle.Model.fit`.
"""
from __future__ import annotations

import math

import numpy as np
from paddle.callbacks import Callback


def schedule(lr_min: float, lr_max: float, steps: int) -> np.ndarray:
    """Exponentially spaced LRs from lr_min to lr_max."""
    return np.geomspace(lr_min, lr_max, steps)


def smooth(losses, beta: float = 0.9) -> np.ndarray:
    """Bias-corrected exponential moving average of the raw losses."""
    out, avg = [], 0.0
    for i, loss in enumerate(losses, 1):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** i))
    return np.asarray(out)


def suggest(lrs, smoothed, skip_start: float = 0.1) -> float | None:
    """The LR at the steepest descent of the smoothed loss (None if too few points)."""
    lrs, smoothed = np.asarray(lrs), np.asarray(smoothed)
    start = int(len(lrs) * skip_start)
    if len(lrs) - start < 5:
        return None
    slopes = np.gradient(smoothed[start:], np.log(lrs[start:]))
    return float(lrs[start + int(np.argmin(slopes))])


class _Diverged(Exception):
    pass


class LRSweep(Callback):
    """Set the LR before each update from `lrs` and record the loss after it; stop (by
    raising, caught by `run_range_test`) when the smoothed loss exceeds `diverge` x its best."""

    def __init__(self, optimizer, lrs, beta: float = 0.9, diverge: float = 4.0):
        super().__init__()
        self.optimizer, self.lrs, self.beta, self.diverge = optimizer, list(lrs), beta, diverge
        self.losses, self.used = [], []

    def on_train_batch_begin(self, step, logs=None):
        lr = self.lrs[len(self.losses)]
        self.optimizer.set_lr(lr)
        self.used.append(lr)

    def on_train_batch_end(self, step, logs=None):
        value = float(np.asarray((logs or {})["loss"]).reshape(-1)[0])
        self.losses.append(value)
        smoothed = smooth(self.losses, self.beta)
        if not math.isfinite(value) or smoothed[-1] > self.diverge * smoothed.min():
            raise _Diverged
        if len(self.losses) == len(self.lrs):
            raise _Diverged  # the sweep is complete


def run_range_test(model, loader, optimizer, lr_min=1e-6, lr_max=1.0, steps=200,
                   beta=0.9, diverge=4.0) -> dict:
    """Run the sweep on a prepared `paddle.Model` (constant-LR optimizer, no metrics)."""
    sweep = LRSweep(optimizer, schedule(lr_min, lr_max, steps), beta, diverge)
    epochs = math.ceil(steps / max(len(loader), 1)) + 1
    try:
        model.fit(loader, epochs=epochs, verbose=0, callbacks=[sweep])
    except _Diverged:
        pass
    lrs, losses = sweep.used[:len(sweep.losses)], sweep.losses
    smoothed = smooth(losses, beta) if losses else np.array([])
    return {"lrs": list(map(float, lrs)), "losses": list(map(float, losses)),
            "smoothed": list(map(float, smoothed)), "suggested_lr": suggest(lrs, smoothed),
            "stopped_early": len(losses) < steps}
