"""What a network learned, as arrays: first-layer filters as an image grid, conv outputs,
weight norms (the readable figures are in `pictures.py`)."""
from __future__ import annotations

import numpy as np
import paddle
from paddle import nn


def tile(images: np.ndarray, min_tile: int = 48, border: int = 2) -> np.ndarray:
    """N images [N, H, W] or [N, H, W, 3] (any range) -> one HWC uint8 RGB grid.

    Each image is min-max scaled on its own and enlarged by an integer factor to at least
    `min_tile` pixels.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    low = images.min(axis=(1, 2, 3), keepdims=True)
    high = images.max(axis=(1, 2, 3), keepdims=True)
    images = ((images - low) / np.maximum(high - low, 1e-8) * 255.0).astype(np.uint8)
    if images.shape[3] == 1:
        images = np.repeat(images, 3, axis=3)
    factor = max(1, -(-min_tile // images.shape[1]))
    images = images.repeat(factor, axis=1).repeat(factor, axis=2)
    n, h, w, _ = images.shape
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.full((rows * (h + border) + border, cols * (w + border) + border, 3), 128, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        y, x = border + r * (h + border), border + c * (w + border)
        grid[y:y + h, x:x + w] = image
    return grid


def first_conv(net: nn.Layer):
    """(name, layer) of the first Conv2D, or None."""
    return next(((n, l) for n, l in net.named_sublayers() if isinstance(l, nn.Conv2D)), None)


def filter_grid(weight: np.ndarray) -> np.ndarray:
    """Conv filters [out, in, kh, kw] as a grid: RGB for 3 inputs, else the mean over inputs."""
    weight = np.asarray(weight)
    images = weight.transpose(0, 2, 3, 1) if weight.shape[1] == 3 else weight.mean(axis=1)
    return tile(images, min_tile=40)


def conv_outputs(net: nn.Layer, image: np.ndarray) -> tuple[dict, np.ndarray]:
    """({conv layer name: its output [C, H, W]}, softmax probabilities) for one CHW image."""
    outputs, hooks = {}, []
    for name, layer in net.named_sublayers():
        if isinstance(layer, nn.Conv2D):
            hooks.append(layer.register_forward_post_hook(
                lambda layer, inputs, output, name=name: outputs.__setitem__(name, output.numpy())))
    was_training = net.training
    net.eval()
    try:
        with paddle.no_grad():
            logits = net(paddle.to_tensor(np.asarray(image, np.float32)[None]))
            probs = paddle.nn.functional.softmax(logits, axis=-1).numpy()[0]
    finally:
        for hook in hooks:
            hook.remove()
        if was_training:
            net.train()
    return {name: maps[0] for name, maps in outputs.items()}, probs


def layer_norms(net: nn.Layer) -> dict:
    """L2 norm of every trainable parameter: {name: norm}."""
    return {name: float(np.linalg.norm(p.numpy())) for name, p in net.named_parameters()
            if not p.stop_gradient}
