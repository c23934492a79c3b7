"""Model factories: names in `MODELS` map to constructors taking `class_num`, `in_channels`, ..."""
from __future__ import annotations

import paddle

from .bilinear import BilinearCNN
from .finetune import apply_finetune, load_pretrained
from .init import INITS, apply_init
from .nets import MLP, LeNet, SmallCNN
from .zoo import ZOO

MODELS = {"LeNet": LeNet, "MLP": MLP, "SmallCNN": SmallCNN, "BilinearCNN": BilinearCNN, **ZOO}


def build_model(arch: dict, seed: int | None = None) -> paddle.nn.Layer:
    """Build the network of a validated `Arch` section: weight init, then pretrained weights
    (a path or run directory in `Arch.pretrained`), then the fine-tuning state."""
    skip = ("name", "init", "finetune") + (("pretrained",) if arch["name"] not in ZOO else ())
    options = {k: v for k, v in arch.items() if k not in skip}
    if isinstance(options.get("pretrained"), str):
        options.pop("pretrained")
    net = MODELS[arch["name"]](**options)
    init = arch.get("init")
    if init and init.get("name") != "default":
        extra = {k: v for k, v in init.items() if k not in ("name", "bias")}
        apply_init(net, init["name"], seed=seed, bias=init.get("bias", 0.0), **extra)
    if isinstance(arch.get("pretrained"), str):
        net.pretrained_report = load_pretrained(net, arch["pretrained"])
    if arch.get("finetune"):
        net.finetune_report = apply_finetune(net, **arch["finetune"])
    return net


__all__ = ["MODELS", "INITS", "build_model", "apply_init", "LeNet", "MLP", "SmallCNN"]
