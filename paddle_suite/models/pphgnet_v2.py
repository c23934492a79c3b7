"""PP-HGNetV2 (PaddleClas's GPU network family, PaddleX's `PP-HGNetV2-B*`) by PaddleClas's
names (`PPHGNetV2_B0` ... `PPHGNetV2_B4`), with PaddleClas's parameter names, so its weights
load whole and give the same logits (`tests/integration/test_paddleclas_networks.py` checks
it against `ppcls`).

The network: a stem (a 3x3 stride-2 conv, then a 2x2 conv branch beside a 2x2 max pool,
concatenated, then 3x3 stride-2 and 1x1 convs); four stages, each an optional depthwise
3x3 stride-2 downsampling conv and HG blocks (a chain of `layer_num` convs whose outputs are
all concatenated with the input, squeezed by a 1x1 conv to half the width and excited back by
another, with a residual from the second block on); global pooling, a 1x1 "last conv" to
`class_expand` features, dropout and the classifier. B0-B3 put a learnable affine (scale,
bias) after every activation ("lab").
"""
from __future__ import annotations

import paddle
from paddle import nn

# name -> (stem channels, (in, mid, out, blocks, downsample, light, kernel, layers) per
# stage, learnable affines)
CONFIGS = {
    "PPHGNetV2_B0": ((16, 16), [(16, 16, 64, 1, False, False, 3, 3),
                                (64, 32, 256, 1, True, False, 3, 3),
                                (256, 64, 512, 2, True, True, 5, 3),
                                (512, 128, 1024, 1, True, True, 5, 3)], True),
    "PPHGNetV2_B1": ((24, 32), [(32, 32, 64, 1, False, False, 3, 3),
                                (64, 48, 256, 1, True, False, 3, 3),
                                (256, 96, 512, 2, True, True, 5, 3),
                                (512, 192, 1024, 1, True, True, 5, 3)], True),
    "PPHGNetV2_B2": ((24, 32), [(32, 32, 96, 1, False, False, 3, 4),
                                (96, 64, 384, 1, True, False, 3, 4),
                                (384, 128, 768, 3, True, True, 5, 4),
                                (768, 256, 1536, 1, True, True, 5, 4)], True),
    "PPHGNetV2_B3": ((24, 32), [(32, 32, 128, 1, False, False, 3, 5),
                                (128, 64, 512, 1, True, False, 3, 5),
                                (512, 128, 1024, 3, True, True, 5, 5),
                                (1024, 256, 2048, 1, True, True, 5, 5)], True),
    "PPHGNetV2_B4": ((32, 48), [(48, 48, 128, 1, False, False, 3, 6),
                                (128, 96, 512, 1, True, False, 3, 6),
                                (512, 192, 1024, 3, True, True, 5, 6),
                                (1024, 384, 2048, 1, True, True, 5, 6)], False),
}


class Affine(nn.Layer):
    """x * scale + bias with two learnable scalars (PaddleClas's LearnableAffineBlock)."""

    def __init__(self):
        super().__init__()
        self.scale = self.create_parameter([1], default_initializer=nn.initializer.Constant(1.0))
        self.bias = self.create_parameter([1], default_initializer=nn.initializer.Constant(0.0))

    def forward(self, x):
        return self.scale * x + self.bias


class ConvBN(nn.Layer):
    """conv (no bias) -> batch norm [-> ReLU [-> affine]]; `same` pads as TensorFlow does
    (the stem's 2x2 convs)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int = 3, stride: int = 1,
                 groups: int = 1, act: bool = True, lab: bool = False, same: bool = False):
        super().__init__()
        self.conv = nn.Conv2D(channels_in, channels_out, kernel, stride,
                              "SAME" if same else (kernel - 1) // 2, groups=groups,
                              bias_attr=False)
        self.bn = nn.BatchNorm2D(channels_out)
        self.act = nn.ReLU() if act else None
        self.lab = Affine() if act and lab else None

    def forward(self, x):
        x = self.bn(self.conv(x))
        if self.act is not None:
            x = self.act(x)
        return self.lab(x) if self.lab is not None else x


class LightConvBN(nn.Layer):
    """A 1x1 conv without activation, then a depthwise conv with one."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, lab: bool):
        super().__init__()
        self.conv1 = ConvBN(channels_in, channels_out, 1, act=False, lab=lab)
        self.conv2 = ConvBN(channels_out, channels_out, kernel, groups=channels_out, lab=lab)

    def forward(self, x):
        return self.conv2(self.conv1(x))


class Stem(nn.Layer):
    def __init__(self, channels_in: int, mid: int, out: int, lab: bool):
        super().__init__()
        self.stem1 = ConvBN(channels_in, mid, 3, 2, lab=lab)
        self.stem2a = ConvBN(mid, mid // 2, 2, lab=lab, same=True)
        self.stem2b = ConvBN(mid // 2, mid, 2, lab=lab, same=True)
        self.stem3 = ConvBN(mid * 2, mid, 3, 2, lab=lab)
        self.stem4 = ConvBN(mid, out, 1, lab=lab)
        self.pool = nn.MaxPool2D(2, 1, padding="SAME", ceil_mode=True)

    def forward(self, x):
        x = self.stem1(x)
        x = paddle.concat([self.pool(x), self.stem2b(self.stem2a(x))], 1)
        return self.stem4(self.stem3(x))


class HGBlock(nn.Layer):
    """`layers` convs in a chain, every output concatenated with the input, squeezed to
    half of `out` and excited back to `out`; a residual when `identity`."""

    def __init__(self, channels_in: int, mid: int, out: int, kernel: int, layers: int,
                 identity: bool, light: bool, lab: bool):
        super().__init__()
        self.identity = identity
        self.layers = nn.LayerList([
            LightConvBN(channels_in if i == 0 else mid, mid, kernel, lab) if light else
            ConvBN(channels_in if i == 0 else mid, mid, kernel, lab=lab) for i in range(layers)])
        self.aggregation_squeeze_conv = ConvBN(channels_in + layers * mid, out // 2, 1, lab=lab)
        self.aggregation_excitation_conv = ConvBN(out // 2, out, 1, lab=lab)

    def forward(self, x):
        outputs = [x]
        for layer in self.layers:
            outputs.append(layer(outputs[-1]))
        y = self.aggregation_excitation_conv(
            self.aggregation_squeeze_conv(paddle.concat(outputs, axis=1)))
        return y + x if self.identity else y


class Stage(nn.Layer):
    def __init__(self, channels_in, mid, out, blocks, downsample, light, kernel, layers, lab):
        super().__init__()
        self.downsample = ConvBN(channels_in, channels_in, 3, 2, groups=channels_in,
                                 act=False) if downsample else None
        self.blocks = nn.Sequential(*[
            HGBlock(channels_in if i == 0 else out, mid, out, kernel, layers, i > 0, light, lab)
            for i in range(blocks)])

    def forward(self, x):
        return self.blocks(self.downsample(x) if self.downsample is not None else x)


class PPHGNetV2(nn.Layer):
    """PP-HGNetV2 of a CONFIGS entry: `class_num` scores for `in_channels`-channel images."""

    def __init__(self, name: str = "PPHGNetV2_B0", class_num: int = 1000,
                 in_channels: int = 3, class_expand: int = 2048, dropout_prob: float = 0.0):
        super().__init__()
        (mid, stem_out), stages, lab = CONFIGS[name]
        self.stem = Stem(in_channels, mid, stem_out, lab)
        self.stages = nn.LayerList([Stage(*stage, lab) for stage in stages])
        self.avg_pool = nn.AdaptiveAvgPool2D(1)
        self.last_conv = nn.Conv2D(stages[-1][2], class_expand, 1, bias_attr=False)
        self.act = nn.ReLU()
        self.lab = Affine() if lab else None
        self.dropout = nn.Dropout(p=dropout_prob, mode="downscale_in_infer")  # as PaddleClas
        self.flatten = nn.Flatten(start_axis=1, stop_axis=-1)
        self.fc = nn.Linear(class_expand, class_num)

    def forward(self, x):
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        x = self.act(self.last_conv(self.avg_pool(x)))
        x = self.dropout(self.lab(x) if self.lab is not None else x)
        return self.fc(self.flatten(x))


def named(name: str):
    """The constructor of one PP-HGNetV2 size."""
    def build(class_num: int = 1000, in_channels: int = 3, class_expand: int = 2048,
              dropout_prob: float = 0.0) -> PPHGNetV2:
        return PPHGNetV2(name, class_num, in_channels, class_expand, dropout_prob)
    return build


PPHGNETV2 = {name: named(name) for name in CONFIGS}
__all__ = ["PPHGNetV2", "PPHGNETV2"]
