"""ResNet_vd (He et al. 2019, "Bag of Tricks": ResNet-D) by PaddleClas's names
(`ResNet18_vd` ... `ResNet152_vd`; PaddleClas's quick-start flagship is `ResNet50_vd`), with
PaddleClas's parameter names, so PaddleClas's and PaddleX's weights load whole and give the
same logits (`tests/integration/test_paddleclas_networks.py` checks it against `ppcls`).

It differs from paddle.vision's ResNet (the suite's `ResNet50`) in two places, so their
weights do not fit each other: the stem is three 3x3 convolutions (32, 32, 64 channels)
instead of one 7x7, and a downsampling shortcut averages 2x2 before its 1x1 convolution
instead of striding it.
"""
from __future__ import annotations

from paddle import nn

# depth -> (block, blocks per stage)
DEPTHS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
          50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3)),
          152: ("bottleneck", (3, 8, 36, 3)), 200: ("bottleneck", (3, 12, 48, 3))}
WIDTHS = (64, 128, 256, 512)


class ConvBN(nn.Layer):
    """[2x2 average pool when `pooled`] -> conv (no bias) -> batch norm -> [ReLU];
    parameters `conv.*` and `bn.*`."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int = 1,
                 relu: bool = True, pooled: bool = False):
        super().__init__()
        self.pool = nn.AvgPool2D(2, stride, padding="SAME", ceil_mode=True) if pooled else None
        self.conv = nn.Conv2D(channels_in, channels_out, kernel, 1 if pooled else stride,
                              (kernel - 1) // 2, bias_attr=False)
        self.bn = nn.BatchNorm2D(channels_out)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(self.pool(x) if self.pool is not None else x))
        return nn.functional.relu(x) if self.relu else x


class Block(nn.Layer):
    """A residual block: `basic` (3x3, 3x3) or `bottleneck` (1x1, 3x3, 1x1 at 4x); a
    `short` projection where the shape changes (pooled, except in the first stage)."""

    def __init__(self, kind: str, channels_in: int, width: int, stride: int,
                 project: bool, first_stage: bool):
        super().__init__()
        out = width * (4 if kind == "bottleneck" else 1)
        if kind == "bottleneck":
            self.conv0 = ConvBN(channels_in, width, 1)
            self.conv1 = ConvBN(width, width, 3, stride)
            self.conv2 = ConvBN(width, out, 1, relu=False)
            self.convs = ["conv0", "conv1", "conv2"]
        else:
            self.conv0 = ConvBN(channels_in, width, 3, stride)
            self.conv1 = ConvBN(width, width, 3, relu=False)
            self.convs = ["conv0", "conv1"]
        self.short = ConvBN(channels_in, out, 1, stride, relu=False,
                            pooled=not first_stage) if project else None

    def forward(self, x):
        y = x
        for name in self.convs:
            y = getattr(self, name)(y)
        return nn.functional.relu(y + (self.short(x) if self.short is not None else x))


class ResNetVd(nn.Layer):
    """ResNet_vd of `depth` layers: `class_num` scores for `in_channels`-channel images."""

    def __init__(self, depth: int = 50, class_num: int = 1000, in_channels: int = 3):
        super().__init__()
        kind, counts = DEPTHS[depth]
        self.stem = nn.Sequential(ConvBN(in_channels, 32, 3, 2), ConvBN(32, 32, 3),
                                  ConvBN(32, 64, 3))
        self.max_pool = nn.MaxPool2D(3, 2, 1)
        expansion = 4 if kind == "bottleneck" else 1
        blocks, channels = [], 64
        for stage, (count, width) in enumerate(zip(counts, WIDTHS)):
            for i in range(count):
                blocks.append(Block(kind, channels, width, 2 if stage and not i else 1,
                                    project=i == 0, first_stage=stage == 0))
                channels = width * expansion
        self.blocks = nn.Sequential(*blocks)
        self.avg_pool = nn.AdaptiveAvgPool2D(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(channels, class_num)

    def forward(self, x):
        x = self.blocks(self.max_pool(self.stem(x)))
        return self.fc(self.flatten(self.avg_pool(x)))


def of_depth(depth: int):
    """The constructor of ResNet<depth>_vd."""
    def build(class_num: int = 1000, in_channels: int = 3) -> ResNetVd:
        return ResNetVd(depth, class_num, in_channels)
    return build


RESNET_VD = {f"ResNet{d}_vd": of_depth(d) for d in DEPTHS}
__all__ = ["ResNetVd", "RESNET_VD"]
