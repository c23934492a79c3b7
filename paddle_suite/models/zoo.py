"""`paddle.vision.models` networks with `class_num` and the number of input channels adapted."""
from __future__ import annotations

from typing import Callable

from paddle import nn
from paddle.vision import models as vm

from ..errors import ConfigError


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
            raise ConfigError(
                "Arch.pretrained: downloading paddle.vision weights needs a network connection; "
                "set Arch.pretrained: false and load local weights with Global.pretrained_model.")
        net = builder(num_classes=class_num, **fixed)
        _replace_first_conv(net, in_channels)
        return net

    factory.__doc__ = f"paddle.vision.models.{builder.__name__} (pretrained weights need a network)."
    return factory


ZOO = {
    "ResNet18": _zoo(vm.resnet18), "ResNet34": _zoo(vm.resnet34), "ResNet50": _zoo(vm.resnet50),
    "MobileNetV1": _zoo(vm.mobilenet_v1), "MobileNetV2": _zoo(vm.mobilenet_v2),
    "VGG11": _zoo(vm.vgg11), "VGG16": _zoo(vm.vgg16),
}
