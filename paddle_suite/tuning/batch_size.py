"""Batch size vs wall-clock time: train one config at several batch sizes and see which
learns fastest per second (batch size is nearly independent of the other choices)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config.loader import Config, load_config
from ..lifecycle.engine import train
from ..runs.rundir import create_run_dir
from ..training.optim import scaled_learning_rate


def scaled_lr(lr: float, batch: int, reference: int, rule: str) -> float:
    """The LR for `batch` from the one tuned at `reference`: linear, sqrt or unchanged."""
    return lr if rule == "none" else scaled_learning_rate(lr, batch, reference, rule)


def batch_size_study(cfg: Config, batch_sizes: list[int], rule: str = "linear") -> dict:
    """One run per batch size (LR scaled by `rule`); writes batch_size_vs_time.png and
    batch_size_study.md into `<output_dir>/<experiment>_batch_size/<run-id>/`."""
    reference = cfg["DataLoader"]["Train"]["batch_size"]
    lr0 = cfg["Optimizer"]["lr"]["learning_rate"]
    study_dir = create_run_dir(cfg["Global"]["output_dir"], f"{cfg['Global']['experiment']}_batch_size")
    rows = []
    for batch in batch_sizes:
        lr = scaled_lr(lr0, batch, reference, rule)
        run_cfg = load_config(cfg.source, cfg.overrides + [
            f"DataLoader.Train.batch_size={batch}", f"Optimizer.lr.learning_rate={lr}",
            f"Global.output_dir={study_dir}", f"Global.experiment=batch_{batch}"])
        result = train(run_cfg)
        seconds = np.cumsum([r["seconds"] for r in result.history])
        accs = [r.get("eval_acc") for r in result.history]
        rows.append({"batch_size": batch, "lr": lr, "seconds": seconds.tolist(), "acc": accs,
                     "best_acc": max(a for a in accs if a is not None),
                     "samples_per_second": result.summary["train_samples_per_second"],
                     "run_dir": str(result.run_dir)})
    _plot(rows, study_dir / "batch_size_vs_time.png")
    lines = ["| batch size | LR | best eval acc | train seconds | samples/s |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['batch_size']} | {r['lr']:.3g} | {r['best_acc']:.4f} | "
              f"{r['seconds'][-1]:.1f} | {r['samples_per_second']} |" for r in rows]
    (study_dir / "batch_size_study.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"dir": str(study_dir), "rows": rows}


def _plot(rows, path: Path) -> None:
    from ..visual.plots import finish_axes, pyplot, save_figure
    fig, ax = pyplot().subplots(figsize=(7, 4))
    for r in rows:
        points = [(s, a) for s, a in zip(r["seconds"], r["acc"]) if a is not None]
        if points:
            ax.plot(*zip(*points), "o-", markersize=3, label=f"batch {r['batch_size']}")
    finish_axes(ax, "training time (s, evaluation excluded)", "eval top-1 accuracy")
    save_figure(fig, path)
