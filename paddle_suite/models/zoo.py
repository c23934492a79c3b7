"""`paddle.vision.models` networks with `class_num` and the number of input channels adapted."""
from __future__ import annotations

from typing import Callable

from paddle import nn
from paddle.vision import models as vm

from ..errors import OptionError


def _replace_first_conv(net: nn.Layer, in_channels: int) -> None:
    """Swap the first Conv2D for one taking `in_channels` (same kernel, stride, padding)."""
    if in_channels == 3:
        return
    for parent in net.sublayers(include_self=True):
        for name, child in parent.named_children():
            if isinstance(child, nn.Conv2D):
                conv = nn.Conv2D(in_channels, child._out_channels, child._kernel_size,
                                 stride=child._stride, padding=child._padding,
                                 bias_attr=child.bias is not None and None)
                setattr(parent, name, conv)
                return


def _zoo(builder: Callable, **fixed) -> Callable:
    def factory(class_num: int = 1000, in_channels: int = 3, pretrained: bool = False):
        if pretrained:
            raise OptionError(
                "Arch.pretrained: downloading paddle.vision weights needs a network connection; "
                "set Arch.pretrained: false and load local weights with Global.pretrained_model.")
        net = builder(num_classes=class_num, **fixed)
        _replace_first_conv(net, in_channels)
        return net

    extra = "".join(f", {k}={v}" for k, v in fixed.items())
    factory.__doc__ = (f"paddle.vision.models.{builder.__name__}{extra and f'({extra[2:]})'} "
                       "(pretrained weights need a network).")
    return factory


def _scaled(builder: Callable, scales: dict) -> dict:
    """PaddleClas-style names with a width suffix (`_x0_5`) for a builder taking `scale`."""
    return {f"{prefix}_x{tag}": _zoo(builder, scale=value)
            for prefix, (tag_values) in scales.items() for tag, value in tag_values}


_WIDTHS = [("0_25", 0.25), ("0_5", 0.5), ("0_75", 0.75), ("1_0", 1.0)]

# Names as PaddleClas spells them (its configs' `Arch.name`), built from paddle.vision.models.
# The networks match PaddleClas's in design, not in parameter names: PaddleClas's pretrained
# weights do not load into them. PaddleClas's own networks (PP-LCNet, ResNet_vd, PP-HGNetV2,
# MobileNetV3) are rebuilt with its parameter names in their own modules; the transformers
# are not here.
ZOO = {
    "ResNet18": _zoo(vm.resnet18), "ResNet34": _zoo(vm.resnet34), "ResNet50": _zoo(vm.resnet50),
    "ResNet101": _zoo(vm.resnet101), "ResNet152": _zoo(vm.resnet152),
    "MobileNetV1": _zoo(vm.mobilenet_v1), "MobileNetV2": _zoo(vm.mobilenet_v2),
    **_scaled(vm.mobilenet_v1, {"MobileNetV1": _WIDTHS}),
    **_scaled(vm.mobilenet_v2, {"MobileNetV2": _WIDTHS + [("1_5", 1.5), ("2_0", 2.0)]}),
    **{f"ShuffleNetV2_x{tag}": _zoo(getattr(vm, f"shufflenet_v2_x{tag}"))
       for tag in ("0_25", "0_33", "0_5", "1_0", "1_5", "2_0")},
    "ShuffleNetV2_swish": _zoo(vm.shufflenet_v2_swish),
    "VGG11": _zoo(vm.vgg11), "VGG13": _zoo(vm.vgg13), "VGG16": _zoo(vm.vgg16),
    "VGG19": _zoo(vm.vgg19), "AlexNet": _zoo(vm.alexnet),
    "SqueezeNet1_0": _zoo(vm.squeezenet1_0), "SqueezeNet1_1": _zoo(vm.squeezenet1_1),
    **{f"DenseNet{n}": _zoo(getattr(vm, f"densenet{n}")) for n in (121, 161, 169, 201, 264)},
}
