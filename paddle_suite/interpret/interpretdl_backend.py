"""InterpretDL (https://github.com/PaddlePaddle/InterpretDL) as an optional second backend for
`tools/interpret.py --backend interpretdl`.

Only the interpreters that run on Paddle 3 are offered: SmoothGrad, Occlusion and ScoreCAM
(its GradCAM, IntGrad and LIME fail there: README, "Explain predictions"). InterpretDL feeds
3-channel inputs, so a model with another channel count is wrapped in `ChannelAdapter`, which
averages the channels back: the image is given as C copies, the adapter returns the same
scores as the model, and the summed input gradient is the model's own. Parameters are set to
match the suite's methods (gradient of the logit, same noise, patch, stride and fill), so the
two backends can be compared map for map.

Install (InterpretDL 0.8.0 pins scikit-learn<=0.24, which does not build on Python 3.11):
    pip install --no-deps interpretdl==0.8.0 && pip install scikit-image "ipython<9" tqdm
"""
from __future__ import annotations

import contextlib
import io

import numpy as np
from paddle import nn

from ..errors import UserError
from ..visual.saliency import _normalise, _scores, conv_layers, default_layer

METHODS = ("smoothgrad", "occlusion", "scorecam")
INSTALL = ('pip install --no-deps interpretdl==0.8.0 && pip install scikit-image "ipython<9" '
           'tqdm')


def load_interpretdl():
    """The `interpretdl` module, imported quietly (it prints a warning about a module it
    cannot find); a UserError naming the install command if it is absent."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import interpretdl
    except ImportError as exc:
        raise UserError(f"--backend interpretdl: InterpretDL is not installed or does not "
                        f"import ({exc}). Install it with: {INSTALL}") from None
    return interpretdl


class ChannelAdapter(nn.Layer):
    """Takes N-channel input and gives `net` the mean over channels repeated to the
    `channels` it expects (for 1-channel models: the mean), so an interpreter that feeds
    RGB can explain a grey-scale model. With C equal copies of an image, the scores are the
    model's own."""

    def __init__(self, net: nn.Layer, channels: int):
        super().__init__()
        self.net, self.channels = net, channels

    def forward(self, x):
        if x.shape[1] == self.channels:
            return self.net(x)
        mean = x.mean(axis=1, keepdim=True)
        return self.net(mean.expand([-1, self.channels, -1, -1]) if self.channels > 1 else mean)


def _as_three_channels(image: np.ndarray) -> np.ndarray:
    return image if image.shape[0] == 3 else np.repeat(image.mean(axis=0, keepdims=True), 3, 0)


def interpretdl_saliency(method: str, net, image: np.ndarray, target: int | None = None,
                         layer: str | None = None, seed: int = 0, **_):
    """(map HxW in [0, 1], target class, probabilities) for one CHW image, computed by
    InterpretDL; the same contract as `saliency.saliency`."""
    if method not in METHODS:
        raise UserError(f"--method {method!r} with --backend interpretdl: InterpretDL's "
                        f"interpreters that run on Paddle 3 are {', '.join(METHODS)}.")
    it = load_interpretdl()
    image = np.asarray(image, np.float32)
    was_training = net.training
    net.eval()
    try:
        probs = _scores(net, image[None])[0]
        target = int(probs.argmax()) if target is None else int(target)
        model = ChannelAdapter(net, image.shape[0])
        data = _as_three_channels(image)[None]
        np.random.seed(seed)  # InterpretDL draws SmoothGrad's noise from numpy's global state
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            raw = _run(it, method, model, data, target, layer or default_layer(net, image)
                       if method == "scorecam" else None)
    finally:
        net.clear_gradients(set_to_zero=False)  # InterpretDL's backward() fills them
        net.train() if was_training else None
    return _normalise(raw), target, probs


def _run(it, method: str, model, data: np.ndarray, target: int, layer: str | None):
    """The raw HxW map of one InterpretDL interpreter, with the suite's parameters."""
    size = data.shape[-1]
    common = {"labels": [target], "resize_to": size, "visual": False}
    if method == "smoothgrad":
        grads = it.SmoothGradInterpreter(model, device="cpu").interpret(
            data, noise_amount=0.15, n_samples=32, gradient_of="logit", **common)
        return np.abs(grads[0]).sum(axis=0)
    if method == "occlusion":
        fill = np.full_like(data[0], data.min())
        heat = it.OcclusionInterpreter(model, device="cpu").interpret(
            data, sliding_window_shapes=(3, 6, 6), strides=(3, 2, 2), baselines=fill,
            perturbations_per_eval=64, labels=target, resize_to=size, visual=False)
        return np.maximum(np.asarray(heat)[0].sum(axis=0), 0)
    if layer not in conv_layers(model.net):
        raise UserError(f"--layer {layer!r} is not a conv layer of this model. Conv layers: "
                        f"{', '.join(conv_layers(model.net))}.")
    cam = it.ScoreCAMInterpreter(model, device="cpu").interpret(
        data, target_layer_name=f"net.{layer}", **common)
    return _resize(np.asarray(cam)[0], data.shape[-2:])


def _resize(maps: np.ndarray, size) -> np.ndarray:
    import cv2
    return cv2.resize(maps.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def backend_for(name: str):
    """The saliency function of a backend: 'suite' (default) or 'interpretdl'."""
    if name == "suite":
        from ..visual.saliency import saliency
        return saliency
    if name == "interpretdl":
        load_interpretdl()
        return interpretdl_saliency
    raise UserError(f"--backend {name!r}: choose suite or interpretdl.")


