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


# Every picture the suite draws stays under this many pixels whatever the number of classes,
# images or layers: a figure asked to be larger is drawn at a lower resolution.
MAX_FIGURE_PIXELS = 8_000_000
# Above these class counts a per-class picture drops its cell numbers, then its tick labels
# (they cannot be read), and tables show the worst classes only.
CELL_TEXT_CLASSES = 30
TICK_LABEL_CLASSES = 60


def bounded_dpi(fig, dpi: float = 100) -> float:
    """`dpi`, lowered so the figure stays within MAX_FIGURE_PIXELS."""
    width, height = fig.get_size_inches()
    return min(dpi, (MAX_FIGURE_PIXELS / (width * height)) ** 0.5)


def save_figure(fig, path: str | Path) -> Path:
    """Lay out (unless the figure has a layout engine of its own), save as PNG (100 dpi,
    less for a figure larger than MAX_FIGURE_PIXELS) and close a figure."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.savefig(path, dpi=bounded_dpi(fig))
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


def learning_curves_figure(rows: list[dict], title: str = "", classes: int | None = None,
                           best_epoch: int | None = None):
    """Loss and top-1 (train and eval) and the LR against the epoch: integer epoch ticks, the
    chance level (ln C for the loss, 1/C for accuracy), the best epoch marked, `title`
    (run name and key hyper-parameters) above."""
    import math

    from matplotlib.ticker import MaxNLocator
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    labels = {"train": "train (mean over each epoch, augmented)", "eval": "eval (end of epoch)"}
    chance = {"loss": math.log(classes), "acc": 1.0 / classes} if classes else {}
    for ax, key, name in ((axes[0], "loss", "loss"), (axes[1], "acc", "top-1 accuracy")):
        for prefix, style in (("train", "-"), ("eval", "o-")):
            points = [(r["epoch"], r[f"{prefix}_{key}"]) for r in rows
                      if r.get(f"{prefix}_{key}") is not None]
            if points:
                ax.plot(*zip(*points), style, label=labels[prefix], markersize=3)
        if key in chance:
            ax.axhline(chance[key], color="grey", linestyle="--", linewidth=1,
                       label=f"chance ({'ln C' if key == 'loss' else '1/C'}, C={classes})")
        if best_epoch:
            ax.axvline(best_epoch, color="tab:green", linestyle=":", label=f"best epoch {best_epoch}")
        ax.set_title(name)
        finish_axes(ax, "epoch")
    _lr_panel(axes[2], rows)
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def lr_points(rows: list[dict]) -> tuple[list, list, bool]:
    """(x, lr, per_update): the LR at every recorded change, x in epochs (epoch k's batch b
    at k - 1 + b / batches), held until the next change; rows without a trace give each
    epoch's last LR (per_update False)."""
    if rows and all("lr_trace" in r and r.get("batches") for r in rows):
        xs, lrs = [], []
        for r in rows:
            for batch, lr in r["lr_trace"]:
                xs.append(r["epoch"] - 1 + batch / r["batches"])
                lrs.append(lr)
        if lrs:
            xs.append(rows[-1]["epoch"])
            lrs.append(lrs[-1])
        return xs, lrs, True
    points = [(r["epoch"], r["lr"]) for r in rows if r.get("lr") is not None]
    return [x for x, _ in points], [y for _, y in points], False


def _lr_panel(ax, rows: list[dict]) -> None:
    xs, lrs, per_update = lr_points(rows)
    if lrs:
        if per_update:
            ax.step(xs, lrs, where="post")
        else:
            ax.plot(xs, lrs, "-", marker="." if len(lrs) < 30 else None)
        if min(lrs) > 0:
            ax.set_yscale("log")
    ax.set_title("learning rate (every update)" if per_update
                 else "learning rate (each epoch's last update)")
    finish_axes(ax, "epoch", legend=False)


def learning_curves(rows: list[dict], path: str | Path, **options) -> Path:
    """`learning_curves_figure` saved as a PNG."""
    return save_figure(learning_curves_figure(rows, **options), path)


def confusion_figure(matrix: np.ndarray, names: list[str]):
    """A confusion matrix twice: counts, and each row as a share of its true class (the
    per-class recall on the diagonal), with a colour scale. Cell numbers up to
    CELL_TEXT_CLASSES classes, class names up to TICK_LABEL_CLASSES; beyond, a heat map of
    bounded size (the report's tables name the confused pairs)."""
    plt = pyplot()
    classes = len(names)
    size = min(max(4.0, 0.55 * classes + 2), 12.0)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape, float), where=rows > 0)
    for ax, values, title, fmt in ((axes[0], matrix, "counts", "{:d}"),
                                   (axes[1], share, "share of the true class", "{:.2f}")):
        image = ax.imshow(values, cmap="Blues", interpolation="nearest")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        if classes <= TICK_LABEL_CLASSES:
            ax.set_xticks(range(classes), names, rotation=90 if classes > 10 else 0)
            ax.set_yticks(range(classes), names)
        ax.set_xlabel("predicted" + ("" if classes <= TICK_LABEL_CLASSES else " (class index)"))
        ax.set_ylabel("true" + ("" if classes <= TICK_LABEL_CLASSES else " (class index)"))
        limit = values.max() / 2 if values.size else 0
        if classes <= CELL_TEXT_CLASSES:
            for (i, j), value in np.ndenumerate(values):
                ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=8,
                        color="white" if value > limit else "black")
        ax.set_title(f"confusion (eval set, {classes} classes): {title}")
    fig.tight_layout()
    return fig


def save_confusion(matrix: np.ndarray, names: list[str], path: str | Path) -> Path:
    return save_figure(confusion_figure(matrix, names), path)


def figure_to_array(fig) -> np.ndarray:
    """An HWC uint8 RGB image of a matplotlib figure (for VisualDL's add_image), within
    MAX_FIGURE_PIXELS."""
    fig.set_dpi(bounded_dpi(fig, fig.get_dpi()))
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()


def worst_classes(rows: list[dict], limit: int = CELL_TEXT_CLASSES) -> list[dict]:
    """Every row when there are at most `limit`, else the `limit` with the lowest F1."""
    return rows if len(rows) <= limit else sorted(rows, key=lambda r: (r["f1"], r["class"]))[:limit]


def per_class_table_figure(rows: list[dict]):
    """Per-class precision / recall / F1 / support as a table picture (one row a class; the
    CELL_TEXT_CLASSES classes with the lowest F1 when there are more)."""
    plt = pyplot()
    shown = worst_classes(rows)
    cells = [[str(r["class"]), f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['f1']:.4f}",
              str(r["support"])] for r in shown]
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.28 * (len(cells) + 1)))
    ax.axis("off")
    if len(shown) < len(rows):
        ax.set_title(f"the {len(shown)} classes with the lowest F1, of {len(rows)}")
    table = ax.table(cellText=cells, colLabels=["class", "precision", "recall", "F1", "support"],
                     loc="center", cellLoc="right", colLoc="right")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1, 1.2)
    fig.tight_layout()
    return fig
