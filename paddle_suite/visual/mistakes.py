"""Where a classifier goes wrong (after fastai's `ClassificationInterpretation`): the eval
images with the highest loss, the class pairs confused most often, and a picture of both."""
from __future__ import annotations

import numpy as np

from .plots import pyplot


def top_losses(probs: np.ndarray, labels: np.ndarray, k: int = 16) -> list[dict]:
    """The `k` samples with the highest cross-entropy (-ln p of the true class), highest
    first: {index, loss, true, predicted, probability (of the prediction), true_probability}."""
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels).reshape(-1)
    true_p = probs[np.arange(len(labels)), labels]
    losses = -np.log(np.clip(true_p, 1e-12, 1.0))
    order = np.argsort(-losses, kind="stable")[:k]
    predicted = probs.argmax(axis=1)
    return [{"index": int(i), "loss": float(losses[i]), "true": int(labels[i]),
             "predicted": int(predicted[i]), "probability": float(probs[i, predicted[i]]),
             "true_probability": float(true_p[i])} for i in order]


def most_confused(matrix: np.ndarray, names: list[str], limit: int = 10,
                  min_count: int = 1) -> list[dict]:
    """Off-diagonal cells of a confusion matrix (rows true, columns predicted), largest
    first: {true, predicted, count, share (of the true class)}."""
    matrix = np.asarray(matrix)
    totals = matrix.sum(axis=1)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    true, predicted = np.nonzero(off >= max(min_count, 1))
    counts = off[true, predicted]
    order = np.lexsort((predicted, true, -counts))[:limit]  # count down, then true, predicted
    return [{"true": names[t], "predicted": names[p], "count": int(c),
             "share": int(c) / totals[t] if totals[t] else 0.0}
            for c, t, p in zip(counts[order], true[order], predicted[order])]


def _displayable(image: np.ndarray) -> np.ndarray:
    """A stored image as floats in [0, 1], HxWx3 RGB (grey repeated; OpenCV's BGR turned)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    image = image[:, :, ::-1] if image.shape[2] == 3 else np.repeat(image[:, :, :1], 3, axis=2)
    image = image.astype(np.float32)
    low, high = float(image.min()), float(image.max())
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def show_image(ax, image: np.ndarray) -> None:
    """A stored image on an axis without ticks (through `_displayable`)."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.imshow(_displayable(image), interpolation="nearest")


def top_losses_figure(images: list[np.ndarray], items: list[dict], names: list[str]):
    """The top-loss images on one canvas, each captioned 'true → predicted (p), loss'."""
    from .pictures import mosaic

    def name(i):
        return names[i] if i < len(names) else str(i)
    shown = [_displayable(image) for image in images]
    h = max(im.shape[0] for im in shown)
    w = max(im.shape[1] for im in shown)
    padded = np.ones((len(shown), h, w, 3), np.float32)
    for i, im in enumerate(shown):
        padded[i, :im.shape[0], :im.shape[1]] = im
    cols = min(4, max(1, len(items)))
    rows = -(-len(items) // cols)
    canvas, places = mosaic(padded, cols, pad=max(1, w // 14), band=max(2, h // 2), fill=1.0)
    fig, ax = pyplot().subplots(figsize=(2.2 * cols, 2.45 * rows + 0.4))
    ax.imshow(canvas, interpolation="nearest")
    ax.axis("off")
    for (top, left), item in zip(places, items):
        ax.text(left + w / 2, top - 0.8, f"true {name(item['true'])} → "
                f"{name(item['predicted'])} (p={item['probability']:.2f})\n"
                f"loss {item['loss']:.2f}", ha="center", va="bottom", fontsize=9)
    ax.set_title(f"top {len(items)} losses on the eval set (lowest probability of the true "
                 "class first)", fontsize=10)
    return fig


def raw_image(view, i: int) -> np.ndarray:
    """Sample `i` of a data view as stored (before its transforms), for display."""
    image, _ = view.base[int(view.indices[i])]
    return np.asarray(image)
