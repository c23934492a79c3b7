"""The LR range test (Smith 2017; the fastai / Lightning "LR finder").

Train from the initial weights for a few hundred updates while the LR grows exponentially
from `lr_min` to `lr_max`; smooth the loss with an exponential moving average (bias
corrected); stop when it exceeds `diverge` x its best. Suggest an LR by one of five rules
(`descent`, the default, and fastai's `valley`, `steep`, `minimum`, `slide`); `descent` is
the one that lands within 3x of the best constant LR of a grid search on every set-up of
bench/advice_panel.py. The rules and `schedule` are pure; `LRSweep` is a thin callback
that drives `paddle.Model.fit`.
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


def steep(lrs, smoothed, skip_start: float = 0.1) -> float | None:
    """The LR at the steepest descent of the smoothed loss against log LR, the first 10% of
    the sweep skipped (Lightning's rule and fastai's `steep`)."""
    lrs, smoothed = np.asarray(lrs), np.asarray(smoothed)
    start = int(len(lrs) * skip_start)
    if len(lrs) - start < 5:
        return None
    slopes = np.gradient(smoothed[start:], np.log(lrs[start:]))
    return float(lrs[start + int(np.argmin(slopes))])


def minimum(lrs, smoothed) -> float | None:
    """A tenth of the LR where the smoothed loss is lowest (fastai's `minimum`)."""
    if len(lrs) < 5:
        return None
    return float(np.asarray(lrs)[int(np.argmin(smoothed))] / 10)


def valley(lrs, smoothed) -> float | None:
    """fastai's `valley` (by ESRI): within the longest decreasing subsequence of the smoothed
    loss, the point about halfway from its start to its end (start + 1/3 + 1/6 of its length)."""
    values = np.asarray(smoothed, dtype=float)
    n = len(values)
    if n < 5:
        return None
    length, previous = np.ones(n, dtype=int), np.full(n, -1)
    for i in range(1, n):
        lower = np.flatnonzero(values[:i] > values[i])
        if lower.size:
            best = lower[np.argmax(length[lower])]
            length[i], previous[i] = length[best] + 1, best
    end = int(np.argmax(length))
    start = end
    while previous[start] >= 0:
        start = int(previous[start])
    third = (end - start) / 3
    return float(np.asarray(lrs)[start + int(third) + int(third / 2)])


def slide(lrs, smoothed, lr_diff: int = 15, threshold: float = 0.005) -> float | None:
    """fastai's `slide` (by Novetta): from the end of the sweep, slide a window of `lr_diff`
    points toward lower LRs while the loss slope differs across the window by more than
    `threshold`; suggest the window's low end where it stops."""
    values = np.asarray(smoothed, dtype=float)
    if len(values) <= lr_diff + 1:
        return None
    slopes = np.gradient(values)
    right = len(values) - 1
    while right - lr_diff > 0 and abs(slopes[right] - slopes[right - lr_diff]) > threshold:
        right -= 1
    return float(np.asarray(lrs)[right - lr_diff])


def descent(lrs, smoothed, fraction: float = 0.8) -> float | None:
    """The first LR at which the smoothed loss has made `fraction` of its whole descent,
    from the start of the sweep to its minimum. Close to the minimum the LR nears the edge
    of stability (a sweep sees each LR for one update; training at it for epochs is less
    forgiving, above all with Adam); backing off to 80% of the descent keeps below it."""
    values = np.asarray(smoothed, dtype=float)
    if len(values) < 5:
        return None
    lowest = int(np.argmin(values))
    level = values[0] - fraction * (values[0] - values[lowest])
    return float(np.asarray(lrs)[int(np.argmax(values[:lowest + 1] <= level))])


RULES = {"descent": descent, "valley": valley, "steep": steep, "minimum": minimum,
         "slide": slide}
DEFAULT_RULE = "descent"  # within 3x of a grid search on four set-ups: bench/advice_panel.py


def suggest(lrs, smoothed, rule: str = DEFAULT_RULE) -> float | None:
    """The suggested LR by `rule` (one of RULES; None if the sweep is too short)."""
    return RULES[rule](lrs, smoothed)


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
            "suggestions": {name: rule(lrs, smoothed) for name, rule in RULES.items()},
            "rule": DEFAULT_RULE,
            "stopped_early": len(losses) < steps}
