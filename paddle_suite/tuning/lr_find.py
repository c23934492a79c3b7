"""`lr_find(cfg)`: the LR range test on a config's model, optimizer and data."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import paddle

from ..config.loader import Config
from ..lifecycle.engine import build
from ..runs.rundir import create_run_dir
from ..training.optim import build_optimizer
from ..visual.vdl import open_writer
from .lr_range_test import run_range_test


def lr_find(cfg: Config, lr_min: float = 1e-6, lr_max: float = 1.0, steps: int = 200) -> dict:
    """Sweep the LR over `steps` updates; write lr_find.png, lr_find.json and VisualDL scalars
    into a run directory `<output_dir>/<experiment>_lr_find/<run-id>`; return the result."""
    built = build(cfg, train=True)
    optimizer = build_optimizer(cfg["Optimizer"], built.net.parameters(), lr_min)
    model = paddle.Model(built.net)
    model.prepare(optimizer, built.loss)  # no metrics: logs["loss"] is the batch loss
    result = run_range_test(model, built.data.train_loader, optimizer, lr_min, lr_max, steps)
    run_dir = create_run_dir(cfg["Global"]["output_dir"], f"{cfg['Global']['experiment']}_lr_find")
    (run_dir / "lr_find.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    _plot(result, run_dir / "lr_find.png")
    writer = open_writer(run_dir)
    for i, (lr, loss, sm) in enumerate(zip(result["lrs"], result["losses"], result["smoothed"])):
        writer.add_scalar("lr_find/lr", lr, i)
        writer.add_scalar("lr_find/loss", loss, i)
        writer.add_scalar("lr_find/smoothed_loss", sm, i)
    writer.close()
    return {**result, "run_dir": str(run_dir)}


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
