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
    cells = [(int(matrix[t, p]), t, p) for t in range(len(matrix)) for p in range(len(matrix))
             if t != p and matrix[t, p] >= min_count]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [{"true": names[t], "predicted": names[p], "count": count,
             "share": count / totals[t] if totals[t] else 0.0} for count, t, p in cells[:limit]]


def show_image(ax, image: np.ndarray) -> None:
    """A stored image on an axis without ticks: grey for one channel, colour (OpenCV's BGR
    order, as the readers return it) for three."""
    ax.set_xticks([])
    ax.set_yticks([])
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", interpolation="nearest")
    else:
        ax.imshow(image[:, :, ::-1] if image.dtype == np.uint8 else image,
                  interpolation="nearest")


def top_losses_figure(images: list[np.ndarray], items: list[dict], names: list[str]):
    """A grid of the top-loss images, each titled 'true → predicted (p), loss'."""
    def name(i):
        return names[i] if i < len(names) else str(i)
    cols = min(4, max(1, len(items)))
    rows = -(-len(items) // cols)
    fig, axes = pyplot().subplots(rows, cols, figsize=(2.6 * cols, 2.8 * rows + 0.5),
                                  squeeze=False)
    for ax, image, item in zip(axes.reshape(-1), images, items):
        show_image(ax, image)
        ax.set_title(f"true {name(item['true'])} → {name(item['predicted'])} "
                     f"(p={item['probability']:.2f})\nloss {item['loss']:.2f}", fontsize=9)
    for ax in axes.reshape(-1)[len(items):]:
        ax.axis("off")
    fig.suptitle(f"top {len(items)} losses on the eval set (lowest probability of the true "
                 "class first)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def raw_image(view, i: int) -> np.ndarray:
    """Sample `i` of a data view as stored (before its transforms), for display."""
    image, _ = view.base[int(view.indices[i])]
    return np.asarray(image)
