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


def mosaic(images: np.ndarray, cols: int, pad: int = 1, band: int = 0,
           fill: float = np.nan) -> tuple[np.ndarray, list]:
    """Images [N, H, W(, 3)] tiled `cols` to a row on one canvas, `pad` pixels apart and
    `band` pixels of room above each for a caption; the gaps hold `fill` (NaN: drawn as the
    background). Returns (canvas, [(top, left) of each image])."""
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape[:3]
    rows = -(-n // cols)
    cell_h, cell_w = h + pad + band, w + pad
    canvas = np.full((rows * cell_h + pad, cols * cell_w + pad, *images.shape[3:]), fill,
                     np.float32)
    places = []
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        top, left = pad + r * cell_h + band, pad + c * cell_w
        canvas[top:top + h, left:left + w] = image
        places.append((top, left))
    return canvas, places


def _columns(count: int) -> int:
    return max(1, math.ceil(math.sqrt(count)))


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _caption(ax, places, size: int, texts: list[str], fontsize: int = 8) -> None:
    for (top, left), text in zip(places, texts):
        ax.text(left + size / 2 - 0.5, top - 0.6, text, ha="center", va="bottom",
                fontsize=fontsize)


def filters_figure(weight: np.ndarray, layer: str, limit: int = 64):
    """Conv filters [out, in, kh, kw]: each enlarged, all on one symmetric colour scale
    (blue negative, white zero, red positive) with a colour bar, so their strength can be
    compared. Filters over 3 inputs are drawn as RGB on one shared scale (grey is zero)."""
    weight = np.asarray(weight, dtype=np.float32)[:limit]
    rgb = weight.shape[1] == 3
    images = weight.transpose(0, 2, 3, 1) if rgb else weight.mean(axis=1)
    bound = float(np.abs(images).max()) or 1.0
    cols = _columns(len(images))
    rows = -(-len(images) // cols)
    kh = images.shape[1]
    band = max(1, round(kh * 0.4))
    fig, ax = pyplot().subplots(figsize=(cols * CELL_INCHES + 1.6, rows * CELL_INCHES + 0.9))
    _bare(ax)
    if rgb:
        canvas, places = mosaic(np.clip(images / (2 * bound) + 0.5, 0, 1), cols, band=band,
                                fill=1.0)
        ax.imshow(canvas, interpolation="nearest")
    else:
        canvas, places = mosaic(images, cols, band=band)
        cmap = pyplot().get_cmap("RdBu_r").with_extremes(bad="white")
        shown = ax.imshow(canvas, cmap=cmap, vmin=-bound, vmax=bound, interpolation="nearest")
        fig.colorbar(shown, ax=ax, fraction=0.04, pad=0.03, label="weight")
    _caption(ax, places, images.shape[2], [f"#{i}" for i in range(len(images))])
    what = "RGB, one shared scale, grey = 0" if rgb else \
        f"mean over {weight.shape[1]} input channel(s)" if weight.shape[1] > 1 else "weights"
    ax.set_title(f"first-layer filters {layer} ({weight.shape[0]} of "
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
    """The input image beside the first `limit` channels [C, H, W] of one layer's output,
    enlarged, on one shared colour scale with a colour bar; `prediction` in the title."""
    maps = np.asarray(maps, dtype=np.float32)
    shown_maps = maps[:limit]
    cols = _columns(len(shown_maps))
    rows = -(-len(shown_maps) // cols)
    band = max(1, round(maps.shape[1] * 0.25))
    fig, (left, right) = pyplot().subplots(
        1, 2, figsize=(cols * CELL_INCHES + CELL_INCHES * 1.6 + 1.4, rows * CELL_INCHES + 0.9),
        gridspec_kw={"width_ratios": [1.3, cols]})
    _bare(left)
    _bare(right)
    _show_input(left, image, "input")
    canvas, places = mosaic(shown_maps, cols, band=band)
    cmap = pyplot().get_cmap("viridis").with_extremes(bad="white")
    low, high = float(shown_maps.min()), float(shown_maps.max())
    shown = right.imshow(canvas, cmap=cmap, vmin=low, vmax=max(high, low + 1e-8),
                         interpolation="nearest")
    fig.colorbar(shown, ax=right, fraction=0.04, pad=0.03, label="activation")
    _caption(right, places, shown_maps.shape[2], [f"channel {i}" for i in range(len(shown_maps))],
             fontsize=7)
    fig.suptitle(f"feature maps of {layer}: {len(shown_maps)} of {maps.shape[0]} channels, "
                 f"{maps.shape[1]}x{maps.shape[2]}; {prediction}", fontsize=10)
    return fig


def saliency_figure(image: np.ndarray, saliency_map: np.ndarray, overlay_picture: np.ndarray,
                    method: str, prediction: str):
    """Three panels: the input, the saliency map on a 0-1 colour scale with a colour bar,
    and the map over the image; the method and the prediction explained in the title."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.6))
    for ax in axes:
        _bare(ax)
    _show_input(axes[0], image, "input")
    shown = axes[1].imshow(saliency_map, cmap="jet", vmin=0.0, vmax=1.0, interpolation="nearest")
    axes[1].set_title(f"{method} saliency", fontsize=9)
    fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04, label="relative importance")
    axes[2].imshow(overlay_picture, interpolation="nearest")
    axes[2].set_title("overlay", fontsize=9)
    fig.suptitle(f"{method}: {prediction}", fontsize=10)
    fig.tight_layout()
    return fig
