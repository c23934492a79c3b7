"""Model factories: names in `MODELS` map to constructors taking `class_num`, `in_channels`, ..."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import paddle

from ..errors import OptionError
from .bilinear import BilinearCNN
from .finetune import apply_finetune, load_pretrained
from .init import INITS, apply_init
from .nets import MLP, LeNet, SmallCNN
from .origin import arch_differences, require_same_network
from .mobilenet_v3 import MOBILENET_V3
from .pphgnet_v2 import PPHGNETV2
from .pplcnet import PPLCNETS
from .resnet_vd import RESNET_VD
from .zoo import ZOO

MODELS = {"LeNet": LeNet, "MLP": MLP, "SmallCNN": SmallCNN, "BilinearCNN": BilinearCNN, **ZOO,
          **PPLCNETS, **RESNET_VD, **PPHGNETV2, **MOBILENET_V3}


log = logging.getLogger("paddle_suite")

MAX_PARAMETERS = 300_000_000  # 1.2 GB of float32 weights: far above any model here


def _constructor_options(arch: dict) -> dict:
    skip = ("name", "init", "finetune", "sync_bn") + \
        (("pretrained",) if arch["name"] not in ZOO else ())
    options = {k: v for k, v in arch.items() if k not in skip}
    if isinstance(options.get("pretrained"), str):
        options.pop("pretrained")
    return options


def count_parameters(arch: dict) -> int:
    """The parameter count of the `Arch` section's network, found without allocating it
    (paddle.LazyGuard); raises OptionError when the options cannot build a network or it
    has more than MAX_PARAMETERS parameters."""
    options = {**_constructor_options(arch), **({"pretrained": False}
                                                if arch["name"] in ZOO else {})}
    try:
        with paddle.LazyGuard():
            net = MODELS[arch["name"]](**options)
        count = sum(int(np.prod(p.shape)) for p in net.parameters())
    except Exception as exc:  # noqa: BLE001 - any constructor failure is a bad option
        raise OptionError(f"Arch: {arch['name']} cannot be built from these options "
                          f"({type(exc).__name__}: {str(exc).strip().splitlines()[0]}).") from None
    if count > MAX_PARAMETERS:
        raise OptionError(f"Arch: these options give {arch['name']} {count:,} parameters "
                          f"({count * 4 / 2**30:.1f} GiB of float32), more than the "
                          f"{MAX_PARAMETERS:,} this suite builds; check in_channels, class_num "
                          "and the layer sizes.")
    return count


def last_linear(net: paddle.nn.Layer) -> paddle.nn.Linear | None:
    """The network's last Linear layer (a classifier's head), or None."""
    linear = [layer for layer in net.sublayers() if isinstance(layer, paddle.nn.Linear)]
    return linear[-1] if linear else None


def scale_head(net: paddle.nn.Layer, factor: float) -> None:
    """Multiply the last Linear layer's initial weights by `factor` and zero its bias, so the
    untrained network's scores are near uniform and its initial loss near ln C (as timm's
    `head_init_scale`); the layers below keep their init."""
    head = last_linear(net)
    if head is None:
        raise OptionError("Arch.init.head_scale: the model has no Linear layer to scale.")
    head.weight.set_value(head.weight.numpy() * factor)
    if head.bias is not None:
        head.bias.set_value(np.zeros(head.bias.shape, dtype="float32"))


def check_same_network(weights: str | Path, arch: dict) -> None:
    """Refuse weights from a run directory whose `Arch` builds a different network than
    `arch` (same tensor names, another function: see `origin`)."""
    require_same_network(Path(weights), arch, MODELS)


def build_model(arch: dict, seed: int | None = None) -> paddle.nn.Layer:
    """Build the network of a validated `Arch` section: weight init, then pretrained weights
    (a path or run directory in `Arch.pretrained`), then the fine-tuning state."""
    net = MODELS[arch["name"]](**_constructor_options(arch))
    init = arch.get("init")
    if init and init.get("name") != "default":
        extra = {k: v for k, v in init.items() if k not in ("name", "bias", "head_scale")}
        apply_init(net, init["name"], seed=seed, bias=init.get("bias", 0.0), **extra)
    if init and init.get("head_scale") is not None:
        scale_head(net, init["head_scale"])
    if isinstance(arch.get("pretrained"), str):
        tune = arch.get("finetune") or {}
        net.pretrained_report = load_pretrained(net, arch["pretrained"],
                                                tune.get("allow_partial", False), tune.get("head"))
        run, differences = arch_differences(Path(net.pretrained_report["file"]), arch, MODELS)
        for line in differences:  # transfer may change the network on purpose: a warning
            log.warning("Arch.pretrained: the weights' run %s built another network: %s",
                        run, line)
    if arch.get("finetune"):
        net.finetune_report = apply_finetune(net, **arch["finetune"])
    return net


__all__ = ["MODELS", "INITS", "MAX_PARAMETERS", "build_model", "check_same_network", "count_parameters", "apply_init", "LeNet", "MLP", "SmallCNN"]
