"""`lr_find(cfg)`: the LR range test on a config's model, optimizer and data."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import paddle

from ..config.loader import Config
from ..lifecycle.engine import build
from ..runs.rundir import create_run_dir, write_json
from ..training.optim import build_optimizer
from ..visual.vdl import open_writer
from .lr_range_test import run_range_test


CHECK_UPDATES = 100          # updates of each short run that checks a suggestion
CHECK_FACTORS = (10.0, 3.0, 1.0, 1 / 3, 1 / 10, 1 / 30)  # around the sweep's suggestion
NO_DESCENT = 0.9            # a sweep whose smoothed loss never fell below 90% of its start


def lr_find(cfg: Config, lr_min: float = 1e-6, lr_max: float = 1.0, steps: int = 200,
            check: bool = True) -> dict:
    """Sweep the LR over `steps` updates; with `check`, train a fresh copy CHECK_UPDATES
    updates at each LR of CHECK_FACTORS x the sweep's suggestion (half-decade steps, a
    decade above it to a decade and a half below) and suggest the one whose loss ends
    lowest. A sweep sees each LR for one update: with batch norm its loss keeps falling or
    stays bounded past the edge of stability, where training for epochs stalls, and its
    descent can also stop short of the best LR; a hundred updates at each show both.
    Write lr_find.png, lr_find.json and VisualDL scalars into a run directory
    `<output_dir>/<experiment>_lr_find/<run-id>`; return the result."""
    built = build(cfg, train=True)
    initial = {k: v.numpy().copy() for k, v in built.net.state_dict().items()}
    result = _sweep(cfg, built, lr_min, lr_max, steps)
    result["warning"] = no_descent(result["smoothed"])
    if check and result["suggested_lr"]:
        result["sweep_suggestion"] = result["suggested_lr"]
        result["checks"] = [_short_run(cfg, built, initial, result["suggested_lr"] * f)
                            for f in CHECK_FACTORS]
        result["suggested_lr"] = best_checked(result["checks"])
    run_dir = create_run_dir(cfg["Global"]["output_dir"], f"{cfg['Global']['experiment']}_lr_find")
    write_json(run_dir / "lr_find.json", result)  # a diverged loss is null, as JSON allows
    _plot(result, run_dir / "lr_find.png")
    writer = open_writer(run_dir)
    for i, (lr, loss, sm) in enumerate(zip(result["lrs"], result["losses"], result["smoothed"])):
        writer.add_scalar("lr_find/lr", lr, i)
        writer.add_scalar("lr_find/loss", loss, i)
        writer.add_scalar("lr_find/smoothed_loss", sm, i)
    writer.close()
    return {**result, "run_dir": str(run_dir)}


def _sweep(cfg: Config, built, lr_min: float, lr_max: float, steps: int,
           diverge: float = 4.0) -> dict:
    optimizer = build_optimizer(cfg["Optimizer"], built.net.parameters(), lr_min)
    model = paddle.Model(built.net)
    model.prepare(optimizer, built.loss)  # no metrics: logs["loss"] is the batch loss
    return run_range_test(model, built.data.train_loader, optimizer, lr_min, lr_max, steps,
                          diverge=diverge)


def _short_run(cfg: Config, built, initial: dict, lr: float) -> dict:
    """CHECK_UPDATES updates at constant `lr` from the initial weights: the smoothed loss
    at the end, infinite when the loss became NaN or infinite (a transient spike, common
    with batch norm at a high LR, does not end the run)."""
    built.net.set_state_dict(initial)
    run = _sweep(cfg, built, lr, lr, CHECK_UPDATES, diverge=math.inf)
    end = run["smoothed"][-1] if run["smoothed"] and not run["stopped_early"] else math.inf
    return {"lr": lr, "final_loss": end if math.isfinite(end) else math.inf}


def best_checked(checks: list[dict]) -> float:
    """The LR of the short run whose loss ended lowest (the higher LR on a tie); a run that
    diverged (an infinite `final_loss`) never wins."""
    return min(checks, key=lambda c: (c["final_loss"], -c["lr"]))["lr"]


def no_descent(smoothed) -> str | None:
    """A warning when the sweep's smoothed loss never fell below NO_DESCENT of its start:
    the network did not learn at any LR of the sweep, so no suggestion from it is sound."""
    values = np.asarray(smoothed, dtype=float)
    if values.size < 5 or values.min() < NO_DESCENT * values[0]:
        return None
    return (f"the smoothed loss fell only {1 - values.min() / values[0]:.0%} below its start "
            "over the whole sweep: the network hardly learned at any LR tried (check the "
            "data and labels with tools/sanity_check.py, or widen --lr-min/--lr-max)")


def plot_range(smoothed) -> tuple[float, float] | None:
    """The y-range that shows the useful part of an LR range test: from just below the
    smoothed loss's minimum to just above its highest value before that minimum (the
    divergence after it runs off the top)."""
    values = np.asarray(smoothed, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return None
    lowest = int(np.argmin(values))
    low, high = float(values[lowest]), float(values[:lowest + 1].max())
    margin = max(high - low, abs(low) * 0.05, 1e-6) * 0.08
    return low - margin, high + margin


def lr_find_figure(result: dict):
    """Raw and smoothed loss against the LR (log scale), the suggestion marked, the y-range
    from `plot_range`."""
    from ..visual.plots import finish_axes, pyplot
    fig, ax = pyplot().subplots(figsize=(7, 4))
    ax.plot(result["lrs"], result["losses"], alpha=0.3, label="loss (each update)")
    ax.plot(result["lrs"], result["smoothed"], label="smoothed (EMA, 0.9)")
    if result["suggested_lr"]:
        ax.axvline(result["suggested_lr"], color="red", linestyle="--",
                   label=f"suggested ({result.get('rule', 'rule')}): "
                         f"{result['suggested_lr']:.2e}")
    for name, lr in (result.get("suggestions") or {}).items():
        if lr and name != result.get("rule"):
            ax.axvline(lr, color="grey", linestyle=":", linewidth=0.8)
            ax.annotate(name, (lr, 1), xycoords=("data", "axes fraction"), fontsize=7,
                        rotation=90, va="top", ha="right", color="grey")
    limits = plot_range(result["smoothed"])
    if limits:
        ax.set_ylim(*limits)
    ax.set_xscale("log")
    ax.set_title("LR range test" + (" (stopped: the loss diverged)"
                                    if result.get("stopped_early") else ""))
    finish_axes(ax, "learning rate", "training loss")
    return fig


def _plot(result: dict, path: Path) -> None:
    from ..visual.plots import save_figure
    save_figure(lr_find_figure(result), path)
