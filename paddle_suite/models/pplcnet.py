"""PP-LCNet (Cui et al. 2021, PaddleClas's CPU network and PaddleX's default classifier
family) by PaddleClas's names (`PPLCNet_x0_25` ... `PPLCNet_x2_5`), with PaddleClas's
parameter names, so weights from PaddleClas's model zoo or a PaddleClas/PaddleX training
run load whole and give the same logits (`tests/integration/test_paddleclas_networks.py`
checks both against `ppcls` itself).

The network: a 3x3 stem, then stages of depthwise-separable blocks (a depthwise conv, an
optional squeeze-excitation, a pointwise conv; each conv followed by batch norm and
h-swish), global pooling, a 1x1 "last conv" to `class_expand` features with h-swish and
dropout, and the classifier.
"""
from __future__ import annotations

from typing import Literal

from paddle import nn

# stage -> blocks of (kernel, in channels, out channels, stride, squeeze-excitation), at x1.0
STAGES = {
    "blocks2": [(3, 16, 32, 1, False)],
    "blocks3": [(3, 32, 64, 2, False), (3, 64, 64, 1, False)],
    "blocks4": [(3, 64, 128, 2, False), (3, 128, 128, 1, False)],
    "blocks5": [(3, 128, 256, 2, False)] + [(5, 256, 256, 1, False)] * 5,
    "blocks6": [(5, 256, 512, 2, True), (5, 512, 512, 1, True)],
}
SCALES = {"0_25": 0.25, "0_35": 0.35, "0_5": 0.5, "0_75": 0.75, "1_0": 1.0, "1_5": 1.5,
          "2_0": 2.0, "2_5": 2.5}


def divisible(value: float, divisor: int = 8) -> int:
    """Channels rounded to a multiple of `divisor`, never below 90% of `value`."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


ACTIVATIONS = {"hardswish": nn.Hardswish, "relu": nn.ReLU, "relu6": nn.ReLU6}


class ConvBN(nn.Layer):
    """conv (no bias) -> batch norm -> activation; parameters `conv.*` and `bn.*`."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int,
                 groups: int = 1, act: str = "hardswish"):
        super().__init__()
        self.conv = nn.Conv2D(channels_in, channels_out, kernel, stride, (kernel - 1) // 2,
                              groups=groups, bias_attr=False,
                              weight_attr=nn.initializer.KaimingNormal())
        self.bn = nn.BatchNorm2D(channels_out)
        self.act = ACTIVATIONS[act]()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class SqueezeExcite(nn.Layer):
    """Channel weights from the pooled features: 1x1 conv (1/4), ReLU, 1x1 conv, hard
    sigmoid of `slope` (paddle's 1/6 here; PaddleClas's MobileNetV3 uses 0.2); parameters
    `conv1.*` and `conv2.*`."""

    def __init__(self, channels: int, reduction: int = 4, slope: float = 0.1666667):
        super().__init__()
        self.slope = slope
        self.avg_pool = nn.AdaptiveAvgPool2D(1)
        self.conv1 = nn.Conv2D(channels, channels // reduction, 1)
        self.conv2 = nn.Conv2D(channels // reduction, channels, 1)

    def forward(self, x):
        weights = nn.functional.relu(self.conv1(self.avg_pool(x)))
        return x * nn.functional.hardsigmoid(self.conv2(weights), slope=self.slope, offset=0.5)


class DepthwiseSeparable(nn.Layer):
    """dw_conv (depthwise), optional se, pw_conv (1x1)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int,
                 squeeze: bool, act: str):
        super().__init__()
        self.dw_conv = ConvBN(channels_in, channels_in, kernel, stride, channels_in, act)
        self.se = SqueezeExcite(channels_in) if squeeze else None
        self.pw_conv = ConvBN(channels_in, channels_out, 1, 1, act=act)

    def forward(self, x):
        x = self.dw_conv(x)
        return self.pw_conv(self.se(x) if self.se is not None else x)


class PPLCNet(nn.Layer):
    """PP-LCNet at width `scale`: `class_num` scores for `in_channels`-channel images (any
    size; 224x224 as PaddleClas trains it). The options are PaddleClas's (`act`:
    hardswish, relu or relu6; `dropout_prob`; `class_expand`)."""

    def __init__(self, scale: float = 1.0, class_num: int = 1000, in_channels: int = 3,
                 act: Literal["hardswish", "relu", "relu6"] = "hardswish",
                 dropout_prob: float = 0.2, class_expand: int = 1280):
        super().__init__()
        if not 0 < scale <= 4:
            raise ValueError(f"scale: expected a width factor in (0, 4], got {scale}")
        def width(channels: int) -> int:
            return divisible(channels * scale)
        self.conv1 = ConvBN(in_channels, width(16), 3, 2, act=act)
        for stage, blocks in STAGES.items():
            setattr(self, stage, nn.Sequential(*[
                DepthwiseSeparable(width(c_in), width(c_out), k, s, se, act)
                for k, c_in, c_out, s, se in blocks]))
        self.avg_pool = nn.AdaptiveAvgPool2D(1)
        self.last_conv = nn.Conv2D(width(512), class_expand, 1, bias_attr=False)
        self.act = ACTIVATIONS[act]()
        self.dropout = nn.Dropout(p=dropout_prob, mode="downscale_in_infer")  # as PaddleClas
        self.flatten = nn.Flatten(start_axis=1, stop_axis=-1)
        self.fc = nn.Linear(class_expand, class_num)

    def forward(self, x):
        x = self.conv1(x)
        for stage in STAGES:
            x = getattr(self, stage)(x)
        x = self.dropout(self.act(self.last_conv(self.avg_pool(x))))
        return self.fc(self.flatten(x))


def at_scale(scale: float):
    """The constructor of PPLCNet_x<scale>: PPLCNet's options but the width."""
    def build(class_num: int = 1000, in_channels: int = 3,
              act: Literal["hardswish", "relu", "relu6"] = "hardswish",
              dropout_prob: float = 0.2, class_expand: int = 1280) -> PPLCNet:
        return PPLCNet(scale, class_num, in_channels, act, dropout_prob, class_expand)
    return build


PPLCNETS = {"PPLCNet": PPLCNet,  # PaddleClas's configs say `name: PPLCNet, scale: 1.0`
            **{f"PPLCNet_x{tag}": at_scale(scale) for tag, scale in SCALES.items()}}
__all__ = ["PPLCNet", "PPLCNETS", "at_scale", "divisible"]
