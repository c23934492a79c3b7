"""Bilinear pooling for fine-grained classification (Lin et al. 2015; Gao et al. 2016).

`BilinearPool` averages the outer product of the conv features over all locations (C x C
values), then applies the signed square root and L2 normalisation. `CompactBilinearPool`
approximates it in `dim` values with Tensor Sketch: two fixed random count sketches of each
location's features, multiplied in the Fourier domain (a circular convolution), summed over
locations. `BilinearCNN` puts either on a conv backbone, followed by a linear classifier.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import paddle
from paddle import nn
from paddle.vision import models as vm

from .nets import SmallCNN


def signed_sqrt_l2(x, eps: float = 1e-8):
    """sign(x) sqrt(|x|), then L2 normalisation of each row."""
    x = paddle.sign(x) * paddle.sqrt(paddle.abs(x) + eps)
    return nn.functional.normalize(x, axis=1)


class BilinearPool(nn.Layer):
    """[N, C, H, W] -> [N, C*C]: mean over locations of x x^T, signed sqrt, L2 norm."""

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        flat = x.reshape([n, c, -1])
        outer = paddle.bmm(flat, flat.transpose([0, 2, 1])) / flat.shape[2]
        return signed_sqrt_l2(outer.reshape([n, c * c]))


class CompactBilinearPool(nn.Layer):
    """[N, C, H, W] -> [N, dim] with Tensor Sketch (fixed random hashes from `seed`)."""

    def __init__(self, channels: int, dim: int = 8192, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        for k in (1, 2):
            sketch = np.zeros((channels, dim), dtype="float32")
            sketch[np.arange(channels), rng.integers(0, dim, channels)] = \
                rng.choice([-1.0, 1.0], channels)
            self.register_buffer(f"sketch{k}", paddle.to_tensor(sketch), persistable=False)
        self.dim = dim

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        locations = x.reshape([n, c, -1]).transpose([0, 2, 1])          # [N, HW, C]
        a = paddle.fft.rfft(paddle.matmul(locations, self.sketch1), axis=-1)
        b = paddle.fft.rfft(paddle.matmul(locations, self.sketch2), axis=-1)
        sketch = paddle.fft.irfft(a * b, n=self.dim, axis=-1).mean(axis=1)  # [N, dim]
        return signed_sqrt_l2(sketch)


def _backbone(name: str, in_channels: int):
    """(conv feature extractor, its output channels)."""
    if name == "resnet18":
        net = vm.resnet18(num_classes=1)
        if in_channels != 3:
            net.conv1 = nn.Conv2D(in_channels, 64, 7, stride=2, padding=3, bias_attr=False)
        body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2,
                             net.layer3, net.layer4)
        return body, 512
    if name == "vgg16":
        net = vm.vgg16(num_classes=1)
        if in_channels != 3:
            net.features[0] = nn.Conv2D(in_channels, 64, 3, padding=1)
        return net.features, 512
    small = SmallCNN(class_num=1, in_channels=in_channels, channels=[16, 32], batch_norm=True)
    return small.features, 32


class BilinearCNN(nn.Layer):
    """A conv backbone, (compact) bilinear pooling and a linear classifier named `head`."""

    def __init__(self, class_num: int = 200, in_channels: int = 3,
                 backbone: Literal["resnet18", "vgg16", "small"] = "resnet18",
                 pooling: Literal["full", "compact"] = "compact", dim: int = 8192,
                 dropout: float = 0.0):
        super().__init__()
        self.backbone, channels = _backbone(backbone, in_channels)
        if pooling == "full":
            self.pool, features = BilinearPool(), channels * channels
        else:
            self.pool, features = CompactBilinearPool(channels, dim), dim
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(features, class_num)

    def forward(self, x):
        return self.head(self.dropout(self.pool(self.backbone(x))))
