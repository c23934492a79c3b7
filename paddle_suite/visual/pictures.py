"""Readable pictures of what a network learned and what it looks at: first-layer filters,
feature maps and saliency maps, each enlarged, on a stated colour scale, with the prediction
they belong to. Every function returns a matplotlib figure (save it with
`plots.save_figure`, or turn it into a VisualDL image with `plots.figure_to_array`).
"""
from __future__ import annotations

import math

import numpy as np

from .plots import pyplot

CELL_INCHES = 1.25   # each filter / feature map is drawn at least this large (125 px at 100 dpi)


def _grid(count: int, extra: int = 0):
    """(rows, cols) of a near-square grid for `count` cells plus `extra` leading ones."""
    cols = max(1, math.ceil(math.sqrt(count + extra)))
    return math.ceil((count + extra) / cols), cols


def _blank(axes) -> None:
    for ax in np.asarray(axes).reshape(-1):
        ax.set_xticks([])
        ax.set_yticks([])


def filters_figure(weight: np.ndarray, layer: str, limit: int = 64):
    """Conv filters [out, in, kh, kw]: each enlarged, all on one symmetric colour scale
    (blue negative, white zero, red positive) with a colour bar, so their strength can be
    compared. Filters over 3 inputs are drawn as RGB on one shared scale (grey is zero)."""
    weight = np.asarray(weight, dtype=np.float32)[:limit]
    rgb = weight.shape[1] == 3
    images = weight.transpose(0, 2, 3, 1) if rgb else weight.mean(axis=1)
    bound = float(np.abs(images).max()) or 1.0
    rows, cols = _grid(len(images))
    fig, axes = pyplot().subplots(rows, cols, figsize=(cols * CELL_INCHES + 1.4,
                                                      rows * CELL_INCHES + 0.8), squeeze=False,
                                    layout="constrained")
    _blank(axes)
    shown = None
    for i, ax in enumerate(axes.reshape(-1)):
        if i >= len(images):
            ax.axis("off")
            continue
        if rgb:
            ax.imshow(np.clip(images[i] / (2 * bound) + 0.5, 0, 1), interpolation="nearest")
        else:
            shown = ax.imshow(images[i], cmap="RdBu_r", vmin=-bound, vmax=bound,
                              interpolation="nearest")
        ax.set_title(f"#{i}", fontsize=8)
    if shown is not None:
        fig.colorbar(shown, ax=axes, fraction=0.04, pad=0.03, label="weight")
    what = "RGB, one shared scale, grey = 0" if rgb else \
        f"mean over {weight.shape[1]} input channel(s)" if weight.shape[1] > 1 else "weights"
    fig.suptitle(f"first-layer filters {layer} ({weight.shape[0]} of "
                 f"{weight.shape[2]}x{weight.shape[3]}; {what})", fontsize=10)
    return fig


def _show_input(ax, image: np.ndarray, title: str) -> None:
    """A CHW image as the model sees it: grey for one channel, min-max scaled RGB for 3."""
    picture = image.transpose(1, 2, 0)
    if picture.shape[2] == 3:
        low, high = picture.min(), picture.max()
        ax.imshow((picture - low) / max(high - low, 1e-8), interpolation="nearest")
    else:
        ax.imshow(picture.mean(axis=2), cmap="gray", interpolation="nearest")
    ax.set_title(title, fontsize=8)


def prediction_text(names: list[str], probs: np.ndarray, true: int | None = None) -> str:
    """'predicted 7 (p=0.981)' plus ', true 1' when the true label is known and differs."""
    top = int(np.argmax(probs))
    name = names[top] if top < len(names) else str(top)
    text = f"predicted {name} (p={float(probs[top]):.3f})"
    if true is not None and int(true) != top:
        text += f", true {names[true] if true < len(names) else true}"
    return text


def feature_maps_figure(image: np.ndarray, maps: np.ndarray, layer: str, prediction: str,
                        limit: int = 32):
    """The input image, then the first `limit` channels [C, H, W] of one layer's output,
    enlarged, on one shared colour scale with a colour bar; `prediction` in the title."""
    maps = np.asarray(maps, dtype=np.float32)
    shown_maps = maps[:limit]
    rows, cols = _grid(len(shown_maps), extra=1)
    fig, axes = pyplot().subplots(rows, cols, figsize=(cols * CELL_INCHES + 1.4,
                                                      rows * CELL_INCHES + 0.8), squeeze=False,
                                    layout="constrained")
    _blank(axes)
    cells = axes.reshape(-1)
    _show_input(cells[0], image, "input")
    low, high = float(shown_maps.min()), float(shown_maps.max())
    shown = None
    for i, ax in enumerate(cells[1:]):
        if i >= len(shown_maps):
            ax.axis("off")
            continue
        shown = ax.imshow(shown_maps[i], cmap="viridis", vmin=low, vmax=max(high, low + 1e-8),
                          interpolation="nearest")
        ax.set_title(f"channel {i}", fontsize=8)
    if shown is not None:
        fig.colorbar(shown, ax=axes, fraction=0.04, pad=0.03, label="activation")
    fig.suptitle(f"feature maps of {layer}: {len(shown_maps)} of {maps.shape[0]} channels, "
                 f"{maps.shape[1]}x{maps.shape[2]}; {prediction}", fontsize=10)
    return fig


def saliency_figure(image: np.ndarray, saliency_map: np.ndarray, overlay_picture: np.ndarray,
                    method: str, prediction: str):
    """Three panels: the input, the saliency map on a 0-1 colour scale with a colour bar,
    and the map over the image; the method and the prediction explained in the title."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.6))
    _blank(axes)
    _show_input(axes[0], image, "input")
    shown = axes[1].imshow(saliency_map, cmap="jet", vmin=0.0, vmax=1.0, interpolation="nearest")
    axes[1].set_title(f"{method} saliency", fontsize=9)
    fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04, label="relative importance")
    axes[2].imshow(overlay_picture, interpolation="nearest")
    axes[2].set_title("overlay", fontsize=9)
    fig.suptitle(f"{method}: {prediction}", fontsize=10)
    fig.tight_layout()
    return fig
