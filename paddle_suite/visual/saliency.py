"""Saliency maps for any paddle classifier, on inputs of any channel count.

Every method takes the network, one CHW float image (already pre-processed as the model
expects) and the target class, and returns an HxW map scaled to [0, 1] (higher: more
responsible for the target's score). Implemented here with paddle autograd rather than
through InterpretDL 0.8.0, whose pins do not install on Python 3.11, whose pre-processing
assumes 3-channel ImageNet images, and whose GradCAM, IntGrad and LIME fail on Paddle 3.

Methods: vanilla `gradient`, `smoothgrad` (Smilkov et al. 2017), `intgrad` (integrated
gradients, Sundararajan et al. 2017), `gradcam` (Selvaraju et al. 2017), `scorecam` (Wang et
al. 2020), `occlusion` (Zeiler & Fergus 2014), `lime` (Ribeiro et al. 2016, on a grid of
square segments).
"""
from __future__ import annotations

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from ..errors import UserError


def _normalise(saliency: np.ndarray) -> np.ndarray:
    saliency = np.nan_to_num(np.asarray(saliency, dtype=np.float64))
    low, high = saliency.min(), saliency.max()
    return ((saliency - low) / (high - low)).astype(np.float32) if high > low else \
        np.zeros_like(saliency, dtype=np.float32)


def _scores(net, batch: np.ndarray) -> np.ndarray:
    with paddle.no_grad():
        return F.softmax(net(paddle.to_tensor(batch.astype(np.float32))), axis=-1).numpy()


def _input_gradient(net, images: np.ndarray, target: int) -> np.ndarray:
    """d score[target] / d input, by `paddle.grad`: the parameters' gradients are left as
    they are (a backward() here would add to them, and the next training update with them)."""
    x = paddle.to_tensor(images.astype(np.float32), stop_gradient=False)
    return paddle.grad(net(x)[:, target].sum(), x)[0].numpy()


def gradient(net, image, target, **_):
    """|d score / d input|, summed over channels."""
    return _normalise(np.abs(_input_gradient(net, image[None], target)[0]).sum(axis=0))


def smoothgrad(net, image, target, samples: int = 32, noise: float = 0.15, seed: int = 0, **_):
    """|mean gradient| over copies of the image with Gaussian noise (noise x value range),
    summed over channels: Smilkov et al.'s average of the gradients, then its magnitude (as
    the PAIR saliency library and InterpretDL do)."""
    rng = np.random.default_rng(seed)
    sigma = noise * (image.max() - image.min())
    noisy = image[None] + rng.normal(0.0, sigma, (samples, *image.shape)).astype(np.float32)
    return _normalise(np.abs(_input_gradient(net, noisy, target).mean(axis=0)).sum(axis=0))


def intgrad(net, image, target, steps: int = 48, baseline: float | None = None, **_):
    """Integrated gradients from a flat baseline (default: the image's minimum, i.e. black)."""
    base = np.full_like(image, image.min() if baseline is None else baseline)
    alphas = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None, None, None]
    path = base[None] + alphas * (image - base)[None]
    grads = _input_gradient(net, path, target).mean(axis=0)
    return _normalise(np.abs((image - base) * grads).sum(axis=0))


def conv_layers(net) -> list[str]:
    """Names of the network's Conv2D layers, in order."""
    return [name for name, layer in net.named_sublayers() if isinstance(layer, nn.Conv2D)]


def default_layer(net, image: np.ndarray) -> str:
    """The conv layer CAM methods use by default: the last one whose output keeps the input's
    height and width (its maps line up with the image: LeNet's first conv), else the last
    one (the usual choice for deep networks, e.g. ResNet's last block)."""
    shapes, hooks = {}, []
    for name, layer in net.named_sublayers():
        if isinstance(layer, nn.Conv2D):
            hooks.append(layer.register_forward_post_hook(
                lambda _, __, out, name=name: shapes.__setitem__(name, out.shape[2:])))
    try:
        with paddle.no_grad():
            net(paddle.to_tensor(image[None].astype(np.float32)))
    finally:
        for hook in hooks:
            hook.remove()
    names = conv_layers(net)
    same = [n for n in names if list(shapes.get(n, [])) == list(image.shape[1:])]
    return same[-1] if same else names[-1]


def _layer(net, name: str | None, image: np.ndarray):
    names = conv_layers(net)
    if not names:
        raise UserError("This model has no Conv2D layer; use gradient, smoothgrad, intgrad, "
                        "occlusion or lime.")
    name = name or default_layer(net, image)
    if name not in names:
        raise UserError(f"--layer {name!r} is not a conv layer of this model. Conv layers: "
                        f"{', '.join(names)}.")
    return dict(net.named_sublayers())[name]


def _activations(net, layer, images):
    store = {}

    def hook(_, __, output):
        store["a"] = output
    handle = layer.register_forward_post_hook(hook)
    try:
        out = net(paddle.to_tensor(images.astype(np.float32)))
    finally:
        handle.remove()
    return out, store["a"]


def _upsample(maps: np.ndarray, size) -> np.ndarray:
    import cv2
    return cv2.resize(maps.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def gradcam(net, image, target, layer: str | None = None, **_):
    """ReLU(sum_k mean(d score/d A_k) A_k) at a conv layer (default: the last), upsampled."""
    out, act = _activations(net, _layer(net, layer, image), image[None])
    weights = paddle.grad(out[:, target].sum(), act)[0].numpy()[0].mean(axis=(1, 2))
    cam = np.maximum((weights[:, None, None] * act.numpy()[0]).sum(axis=0), 0)
    return _normalise(_upsample(cam, image.shape[1:]))


def scorecam(net, image, target, layer: str | None = None, batch: int = 32, **_):
    """Each activation map of a conv layer, upsampled and scaled to [0, 1], masks the input;
    the target's softmax score under each mask weighs that map."""
    with paddle.no_grad():
        _, act = _activations(net, _layer(net, layer, image), image[None])
    maps = np.stack([_normalise(_upsample(a, image.shape[1:])) for a in act.numpy()[0]])
    base = np.full_like(image, image.min())
    masked = base[None] + maps[:, None] * (image - base)[None]
    scores = np.concatenate([_scores(net, masked[i:i + batch])[:, target]
                             for i in range(0, len(masked), batch)])
    return _normalise(np.maximum((scores[:, None, None] * maps).sum(axis=0), 0))


def occlusion(net, image, target, patch: int = 6, stride: int = 2, **_):
    """Drop of the target's probability when a patch (set to the image minimum) hides a spot."""
    _, h, w = image.shape
    reference = _scores(net, image[None])[0, target]
    fill = image.min()
    heat, count = np.zeros((h, w)), np.zeros((h, w))
    batch, spots = [], []
    for y in range(0, max(h - patch, 0) + 1, stride):
        for x in range(0, max(w - patch, 0) + 1, stride):
            hidden = image.copy()
            hidden[:, y:y + patch, x:x + patch] = fill
            batch.append(hidden)
            spots.append((y, x))
    scores = np.concatenate([_scores(net, np.stack(batch[i:i + 64]))[:, target]
                             for i in range(0, len(batch), 64)])
    for (y, x), score in zip(spots, scores):
        heat[y:y + patch, x:x + patch] += reference - score
        count[y:y + patch, x:x + patch] += 1
    return _normalise(np.maximum(heat / np.maximum(count, 1), 0))


def lime(net, image, target, grid: int = 7, samples: int = 400, seed: int = 0, **_):
    """A ridge regression of the target's probability on which of grid x grid square
    segments are kept (the others set to the image minimum); the weights are the map."""
    from sklearn.linear_model import Ridge
    rng = np.random.default_rng(seed)
    _, h, w = image.shape
    ys, xs = np.linspace(0, h, grid + 1).astype(int), np.linspace(0, w, grid + 1).astype(int)
    keep = rng.integers(0, 2, (samples, grid * grid)).astype(bool)
    keep[0] = True
    fill = image.min()
    batch = np.repeat(image[None], samples, axis=0)
    for s in range(samples):
        for k in np.flatnonzero(~keep[s]):
            r, c = divmod(k, grid)
            batch[s, :, ys[r]:ys[r + 1], xs[c]:xs[c + 1]] = fill
    scores = np.concatenate([_scores(net, batch[i:i + 64])[:, target]
                             for i in range(0, samples, 64)])
    weights = Ridge(alpha=1.0).fit(keep.astype(float), scores).coef_
    heat = np.zeros((h, w))
    for k, weight in enumerate(weights):
        r, c = divmod(k, grid)
        heat[ys[r]:ys[r + 1], xs[c]:xs[c + 1]] = weight
    return _normalise(np.maximum(heat, 0))


METHODS = {"gradient": gradient, "smoothgrad": smoothgrad, "intgrad": intgrad,
           "gradcam": gradcam, "scorecam": scorecam, "occlusion": occlusion, "lime": lime}


def saliency(method: str, net, image: np.ndarray, target: int | None = None, **options):
    """(map HxW in [0, 1], target class, probabilities) for one CHW image."""
    if method not in METHODS:
        raise UserError(f"Unknown interpretation method {method!r}. Methods: "
                        f"{', '.join(METHODS)}.")
    was_training = net.training
    net.eval()
    try:
        probs = _scores(net, image[None])[0]
        target = int(probs.argmax()) if target is None else target
        return METHODS[method](net, image.astype(np.float32), target, **options), target, probs
    finally:
        net.train() if was_training else None


def overlay(image: np.ndarray, saliency_map: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """An HWC uint8 RGB picture: the image (min-max scaled, gray or RGB) under a JET heatmap."""
    import cv2
    picture = image.transpose(1, 2, 0).astype(np.float32)
    picture = (picture - picture.min()) / max(float(picture.max() - picture.min()), 1e-8)
    picture = (picture * 255).astype(np.uint8)
    if picture.shape[2] == 1:
        picture = np.repeat(picture, 3, axis=2)
    elif picture.shape[2] != 3:
        picture = np.repeat(picture.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    heat = cv2.applyColorMap((saliency_map * 255).astype(np.uint8), cv2.COLORMAP_JET)[:, :, ::-1]
    return (picture * (1 - alpha) + heat * alpha).astype(np.uint8)
