"""The pictures of tools/check_data.py: class counts, labelled samples, likely label errors."""
from __future__ import annotations

import numpy as np

from ..visual.mistakes import raw_image, show_image
from ..visual.plots import pyplot


def _name(names, i):
    return names[i] if i < len(names) else str(i)


def class_counts_figure(counts: dict, names: list[str]):
    """Samples per class, one bar group per set, with each set's max/min ratio."""
    plt = pyplot()
    classes = sorted({c for found in counts.values() for c in found})
    fig, ax = plt.subplots(figsize=(max(7.5, 0.45 * len(classes) + 2), 4))
    width, tallest = 0.8 / max(len(counts), 1), 1
    for k, (name, found) in enumerate(counts.items()):
        values = [found.get(c, 0) for c in classes]
        ratio, tallest = max(values) / max(min(values), 1), max(tallest, max(values))
        ax.bar(np.arange(len(classes)) + k * width, values, width,
               label=f"{name} ({sum(values)} samples, max/min {ratio:.1f})")
    ax.set_xticks(np.arange(len(classes)) + width * (len(counts) - 1) / 2,
                  [_name(names, c) for c in classes], rotation=90 if len(classes) > 12 else 0)
    ax.set_xlabel("class")
    ax.set_ylabel("samples")
    ax.set_title("class counts")
    ax.set_ylim(0, tallest * 1.3)  # room for the legend above the bars
    ax.legend(loc="upper center", ncol=len(counts))
    ax.grid(axis="y", alpha=0.3)
    return fig


def samples_figure(view, examples: dict, names: list[str], max_rows: int):
    """A row of stored images per class, the class name at the left."""
    plt = pyplot()
    classes = sorted(examples)[:max_rows]
    cols = max((len(examples[c]) for c in classes), default=1)
    fig, axes = plt.subplots(len(classes) or 1, cols, figsize=(1.1 * cols + 1, 1.1 * len(classes) + 0.6),
                             squeeze=False)
    for row, label in enumerate(classes):
        for col in range(cols):
            ax = axes[row, col]
            if col < len(examples[label]):
                show_image(ax, raw_image(view, examples[label][col]))
            else:
                ax.axis("off")
        axes[row, 0].set_ylabel(_name(names, label), rotation=0, ha="right", va="center")
    more = f" (first {max_rows} of {len(examples)} classes)" if len(examples) > max_rows else ""
    fig.suptitle(f"samples per class, as stored{more}", fontsize=10)
    fig.tight_layout()
    return fig


def suspects_figure(views: dict, rows: list[dict], names: list[str]):
    """The likely mislabelled samples: each image with its label and the class held-out
    predictions confidently give it."""
    plt = pyplot()
    cols = min(4, len(rows))
    lines = -(-len(rows) // cols)
    fig, axes = plt.subplots(lines, cols, figsize=(2.7 * cols, 2.9 * lines + 0.5), squeeze=False)
    for ax in axes.reshape(-1):
        ax.axis("off")
    for ax, row in zip(axes.reshape(-1), rows):
        ax.axis("on")
        show_image(ax, raw_image(views[row["set"]], row["index"]))
        ax.set_title(f"{row['set']}: labelled {_name(names, row['label'])}\nlikely "
                     f"{_name(names, row['suggested'])} (p={row['probability']:.2f})", fontsize=9)
    fig.suptitle("likely mislabelled (held-out predictions, confident learning), by margin",
                 fontsize=10)
    fig.tight_layout()
    return fig
