"""MobileNetV3 as PaddleClas builds it (`MobileNetV3_small_x0_35` ... `MobileNetV3_large_x1_25`),
with PaddleClas's parameter names, so weights from PaddleClas's model zoo or a
PaddleClas/PaddleX training run load whole and give the same logits
(`tests/integration/test_paddleclas_networks.py` checks both against `ppcls` itself).

PaddleClas's variant differs from paddle.vision's: after the last 960/576-channel block
comes global pooling, a 1x1 conv to `class_expand` features (no batch norm) with h-swish and
dropout, and one Linear classifier; its squeeze-excitation uses a hard sigmoid of slope 0.2.
"""
from __future__ import annotations

from paddle import nn

from .pplcnet import SqueezeExcite, divisible

# kernel, expanded channels, out channels, squeeze-excitation, activation, stride (at x1.0)
BLOCKS = {
    "large": [(3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2),
              (3, 72, 24, False, "relu", 1), (5, 72, 40, True, "relu", 2),
              (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
              (3, 240, 80, False, "hardswish", 2), (3, 200, 80, False, "hardswish", 1),
              (3, 184, 80, False, "hardswish", 1), (3, 184, 80, False, "hardswish", 1),
              (3, 480, 112, True, "hardswish", 1), (3, 672, 112, True, "hardswish", 1),
              (5, 672, 160, True, "hardswish", 2), (5, 960, 160, True, "hardswish", 1),
              (5, 960, 160, True, "hardswish", 1)],
    "small": [(3, 16, 16, True, "relu", 2), (3, 72, 24, False, "relu", 2),
              (3, 88, 24, False, "relu", 1), (5, 96, 40, True, "hardswish", 2),
              (5, 240, 40, True, "hardswish", 1), (5, 240, 40, True, "hardswish", 1),
              (5, 120, 48, True, "hardswish", 1), (5, 144, 48, True, "hardswish", 1),
              (5, 288, 96, True, "hardswish", 2), (5, 576, 96, True, "hardswish", 1),
              (5, 576, 96, True, "hardswish", 1)],
}
SQUEEZE = {"large": 960, "small": 576}   # channels of the last conv before pooling, at x1.0
SCALES = {"0_35": 0.35, "0_5": 0.5, "0_75": 0.75, "1_0": 1.0, "1_25": 1.25}
STEM = 16


class ConvBN(nn.Layer):
    """conv (no bias) -> batch norm -> optional activation; parameters `conv.*`, `bn.*`."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int = 1,
                 groups: int = 1, act: str | None = None):
        super().__init__()
        self.conv = nn.Conv2D(channels_in, channels_out, kernel, stride, (kernel - 1) // 2,
                              groups=groups, bias_attr=False)
        self.bn = nn.BatchNorm2D(channels_out)
        self.act = {"relu": nn.ReLU, "hardswish": nn.Hardswish}[act]() if act else None

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.act(x) if self.act is not None else x


class InvertedResidual(nn.Layer):
    """expand_conv (1x1), bottleneck_conv (depthwise), optional mid_se, linear_conv (1x1,
    no activation); the input is added back when the shape allows."""

    def __init__(self, channels_in: int, mid: int, channels_out: int, kernel: int,
                 stride: int, squeeze: bool, act: str):
        super().__init__()
        self.shortcut = stride == 1 and channels_in == channels_out
        self.expand_conv = ConvBN(channels_in, mid, 1, act=act)
        self.bottleneck_conv = ConvBN(mid, mid, kernel, stride, groups=mid, act=act)
        self.mid_se = SqueezeExcite(mid, slope=0.2) if squeeze else None
        self.linear_conv = ConvBN(mid, channels_out, 1)

    def forward(self, x):
        y = self.bottleneck_conv(self.expand_conv(x))
        y = self.linear_conv(self.mid_se(y) if self.mid_se is not None else y)
        return x + y if self.shortcut else y


class MobileNetV3(nn.Layer):
    """PaddleClas's MobileNetV3 `size` ("large" or "small") at width `scale`:
    `class_num` scores for `in_channels`-channel images."""

    def __init__(self, size: str = "large", scale: float = 1.0, class_num: int = 1000,
                 in_channels: int = 3, dropout_prob: float = 0.2, class_expand: int = 1280):
        super().__init__()
        if size not in BLOCKS or not 0 < scale <= 4:
            raise ValueError(f"size/scale: expected large or small at a width in (0, 4], "
                             f"got {size!r} at {scale}")
        blocks = BLOCKS[size]
        channels = [STEM] + [c for _, _, c, *_ in blocks]
        self.conv = ConvBN(in_channels, divisible(STEM * scale), 3, 2, act="hardswish")
        self.blocks = nn.Sequential(*[
            InvertedResidual(divisible(channels[i] * scale), divisible(mid * scale),
                             divisible(c * scale), k, s, se, act)
            for i, (k, mid, c, se, act, s) in enumerate(blocks)])
        squeeze = divisible(SQUEEZE[size] * scale)
        self.last_second_conv = ConvBN(divisible(channels[-1] * scale), squeeze, 1,
                                       act="hardswish")
        self.avg_pool = nn.AdaptiveAvgPool2D(1)
        self.last_conv = nn.Conv2D(squeeze, class_expand, 1, bias_attr=False)
        self.hardswish = nn.Hardswish()
        self.dropout = nn.Dropout(p=dropout_prob, mode="downscale_in_infer")  # as PaddleClas
        self.flatten = nn.Flatten(start_axis=1, stop_axis=-1)
        self.fc = nn.Linear(class_expand, class_num)

    def forward(self, x):
        x = self.avg_pool(self.last_second_conv(self.blocks(self.conv(x))))
        return self.fc(self.flatten(self.dropout(self.hardswish(self.last_conv(x)))))


def sized(size: str, scale: float):
    """The constructor of MobileNetV3_<size>_x<scale>: the options but the size and width."""
    def build(class_num: int = 1000, in_channels: int = 3, dropout_prob: float = 0.2,
              class_expand: int = 1280) -> MobileNetV3:
        return MobileNetV3(size, scale, class_num, in_channels, dropout_prob, class_expand)
    return build


MOBILENET_V3 = {f"MobileNetV3_{size}_x{tag}": sized(size, scale)
                for size in BLOCKS for tag, scale in SCALES.items()}
__all__ = ["MOBILENET_V3", "MobileNetV3", "sized"]
