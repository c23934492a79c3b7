"""Weight-initialisation schemes for Conv and Linear layers.

Each scheme is a function `(fan_in, fan_out, shape, rng, **options) -> numpy array`. Paddle
stores Linear weights as [in, out] and Conv weights as [out, in, kh, kw]; fans are computed
accordingly. Randomness comes from the numpy generator the caller passes (seeded from
`Global.seed`), so an init is repeatable.
"""
from __future__ import annotations

import logging
import math
from typing import Literal

import numpy as np
from paddle import nn

log = logging.getLogger("paddle_suite")


def _fans(layer: nn.Layer, shape) -> tuple[int, int]:
    if isinstance(layer, nn.Linear):
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def xavier(fan_in, fan_out, shape, rng, distribution: Literal["uniform", "normal"] = "uniform", gain: float = 1.0):
    """Glorot & Bengio (2010): variance 2 / (fan_in + fan_out)."""
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    if distribution == "normal":
        return rng.normal(0.0, std, shape)
    bound = math.sqrt(3.0) * std
    return rng.uniform(-bound, bound, shape)


def kaiming(fan_in, fan_out, shape, rng, distribution: Literal["uniform", "normal"] = "normal", negative_slope: float = 0.0):
    """He et al. (2015) for ReLU-family activations: variance 2 / ((1 + a^2) fan_in)."""
    std = math.sqrt(2.0 / ((1.0 + negative_slope ** 2) * fan_in))
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std
        return rng.uniform(-bound, bound, shape)
    return rng.normal(0.0, std, shape)


def normal(fan_in, fan_out, shape, rng, std: float = 0.01):
    """Gaussian with a fixed standard deviation (e.g. 0.01, the classic small-random init)."""
    return rng.normal(0.0, std, shape)


def fan_in(fan_in, fan_out, shape, rng):
    """Calibrated variance: N(0, 1) / sqrt(fan_in), so each unit's output variance matches its input's."""
    return rng.normal(0.0, 1.0, shape) / math.sqrt(fan_in)


def sparse(fan_in, fan_out, shape, rng, k: int = 15, std: float = 1.0):
    """Martens (2010): each output unit gets exactly `k` non-zero N(0, std) incoming weights."""
    weights = np.zeros(shape)
    flat = weights.reshape(shape[0], -1) if len(shape) > 2 else weights.T
    k = min(k, flat.shape[1])
    for row in flat:
        row[rng.choice(flat.shape[1], size=k, replace=False)] = rng.normal(0.0, std, k)
    return weights


def constant(fan_in, fan_out, shape, rng, value: float = 0.0):
    """Every weight the same value: units stay identical forever (symmetry is never broken)."""
    return np.full(shape, value)


INITS = {"xavier": xavier, "kaiming": kaiming, "normal": normal, "fan_in": fan_in,
         "sparse": sparse, "constant": constant, "zeros": constant}
SYMMETRIC = {"constant", "zeros"}


def apply_init(net: nn.Layer, name: str, seed: int | None = None, bias: float = 0.0,
               **options) -> int:
    """Initialise every Conv/Linear weight of `net` with scheme `name`, biases with `bias`.

    Returns the number of layers initialised. Constant schemes log a loud warning.
    """
    if name in SYMMETRIC:
        log.warning("WARNING: Arch.init %r gives every unit identical weights; gradient descent "
                    "keeps them identical, so the network cannot learn more than one feature "
                    "per layer. Use xavier or kaiming unless you are demonstrating exactly this.",
                    name)
    scheme = INITS[name]
    rng = np.random.default_rng(seed)
    count = 0
    for layer in net.sublayers():
        if not isinstance(layer, (nn.Linear, nn.Conv2D, nn.Conv1D, nn.Conv3D)):
            continue
        shape = list(layer.weight.shape)
        fi, fo = _fans(layer, shape)
        layer.weight.set_value(scheme(fi, fo, shape, rng, **options).astype("float32"))
        if layer.bias is not None:
            layer.bias.set_value(np.full(layer.bias.shape, bias, dtype="float32"))
        count += 1
    return count
