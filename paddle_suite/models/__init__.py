"""Model factories: names in `MODELS` map to constructors taking `class_num`, `in_channels`, ..."""
from __future__ import annotations

import paddle

from .init import INITS, apply_init
from .nets import MLP, LeNet, SmallCNN
from .zoo import ZOO

MODELS = {"LeNet": LeNet, "MLP": MLP, "SmallCNN": SmallCNN, **ZOO}


def build_model(arch: dict, seed: int | None = None) -> paddle.nn.Layer:
    """Build the network of a validated `Arch` section and apply its weight-init scheme."""
    options = {k: v for k, v in arch.items() if k not in ("name", "init")}
    net = MODELS[arch["name"]](**options)
    init = arch.get("init")
    if init and init.get("name") != "default":
        extra = {k: v for k, v in init.items() if k not in ("name", "bias")}
        apply_init(net, init["name"], seed=seed, bias=init.get("bias", 0.0), **extra)
    return net


__all__ = ["MODELS", "INITS", "build_model", "apply_init", "LeNet", "MLP", "SmallCNN"]
