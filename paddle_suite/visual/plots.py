"""PNG plots with matplotlib (Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path: str | Path) -> Path:
    """Lay out, save as PNG (100 dpi) and close a figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot().close(fig)
    return Path(path)


def finish_axes(ax, xlabel: str, ylabel: str | None = None, legend: bool = True) -> None:
    """Axis labels, a light grid and the legend."""
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend()


def learning_curves(rows: list[dict], path: str | Path) -> Path:
    """Train vs eval loss and accuracy by epoch, and the LR by epoch, in one PNG."""
    plt = pyplot()
    epochs = [r["epoch"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, key, title in ((axes[0], "loss", "loss"), (axes[1], "acc", "top-1 accuracy")):
        for prefix, style in (("train", "-"), ("eval", "o-")):
            points = [(r["epoch"], r[f"{prefix}_{key}"]) for r in rows if f"{prefix}_{key}" in r]
            if points:
                ax.plot(*zip(*points), style, label=prefix, markersize=3)
        ax.set_title(title)
        finish_axes(ax, "epoch")
    lrs = [r.get("lr") for r in rows]
    if any(v is not None for v in lrs):
        axes[2].plot(epochs, lrs, "-")
        if min(v for v in lrs if v is not None) > 0:
            axes[2].set_yscale("log")
    axes[2].set_title("learning rate (last update of the epoch)")
    finish_axes(axes[2], "epoch", legend=False)
    return save_figure(fig, path)


def confusion_figure(matrix: np.ndarray, names: list[str]):
    """A matplotlib figure of a confusion matrix (counts in the cells)."""
    plt = pyplot()
    size = max(4.0, 0.55 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=90 if len(names) > 10 else 0)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    limit = matrix.max() / 2 if matrix.size else 0
    if len(names) <= 30:
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                    color="white" if value > limit else "black")
    ax.set_title("confusion matrix (eval set)")
    fig.tight_layout()
    return fig


def save_confusion(matrix: np.ndarray, names: list[str], path: str | Path) -> Path:
    return save_figure(confusion_figure(matrix, names), path)


def figure_to_array(fig) -> np.ndarray:
    """An HWC uint8 RGB image of a matplotlib figure (for VisualDL's add_image)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()


def per_class_table_figure(rows: list[dict]):
    """Per-class precision / recall / F1 / support as a table picture (one row a class)."""
    plt = pyplot()
    cells = [[str(r["class"]), f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['f1']:.4f}",
              str(r["support"])] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 0.6 + 0.28 * (len(cells) + 1)))
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=["class", "precision", "recall", "F1", "support"],
                     loc="center", cellLoc="right", colLoc="right")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1, 1.2)
    fig.tight_layout()
    return fig
