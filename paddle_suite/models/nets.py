"""Small networks for 28x28-style inputs: LeNet, an MLP and a configurable CNN."""
from __future__ import annotations

from typing import Literal

import paddle
from paddle import nn


def batch_norm_layers(net: nn.Layer) -> list:
    """Every BatchNorm layer (1-D, 2-D, 3-D) in `net`, itself included."""
    return [l for l in net.sublayers(include_self=True)
            if isinstance(l, nn.layer.norm._BatchNormBase)]


Activation = Literal["relu", "leaky_relu", "prelu", "elu", "sigmoid", "tanh"]

_ACTIVATIONS = {
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "prelu": nn.PReLU,
    "elu": nn.ELU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
}


def trainable_parameters(net: nn.Layer) -> list:
    """[(name, parameter)] of the parameters an optimizer updates (not frozen)."""
    return [(n, p) for n, p in net.named_parameters() if not p.stop_gradient]


def make_activation(name: str) -> nn.Layer:
    """A fresh activation layer by name (PReLU gets its own learnable slope)."""
    return _ACTIVATIONS[name]()


class LeNet(nn.Layer):
    """LeNet-5 as in `paddle.vision.models.LeNet`, with a configurable number of input channels.

    Expects 28x28 inputs (the first convolution pads by 1, as Paddle's does). Paddle's LeNet
    stacks its three fully connected layers with nothing between them, so together they are
    one linear map; `head_activation` puts a nonlinearity after the first two, as LeCun's
    LeNet-5 had. It keeps the state-dict names, so weights load into either form, and adds
    no parameters (except PReLU's slopes).
    """

    def __init__(self, class_num: int = 10, in_channels: int = 1,
                 head_activation: Activation | None = None):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2D(in_channels, 6, 3, stride=1, padding=1), nn.ReLU(), nn.MaxPool2D(2, 2),
            nn.Conv2D(6, 16, 5, stride=1, padding=0), nn.ReLU(), nn.MaxPool2D(2, 2),
        )
        self.fc = nn.Sequential(
            nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, class_num)
        )
        self.head_activations = nn.LayerList(
            [make_activation(head_activation) for _ in range(2)] if head_activation else [])

    def forward(self, x):
        x = paddle.flatten(self.features(x), 1)
        if not self.head_activations:
            return self.fc(x)
        for linear, activation in zip(self.fc[:-1], self.head_activations):
            x = activation(linear(x))
        return self.fc[-1](x)


class MLP(nn.Layer):
    """Fully connected classifier: flatten, then `hidden` layers of activation/BN/dropout."""

    def __init__(self, class_num: int = 10, in_channels: int = 1, image_size: int = 28,
                 hidden: list[int] = (256, 128), activation: Activation = "relu",
                 batch_norm: bool = False, dropout: float = 0.0):
        super().__init__()
        layers, width = [], in_channels * image_size * image_size
        for units in hidden:
            layers.append(nn.Linear(width, units))
            if batch_norm:
                layers.append(nn.BatchNorm1D(units))
            layers.append(make_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, class_num)

    def forward(self, x):
        return self.head(self.body(paddle.flatten(x, 1)))


class SmallCNN(nn.Layer):
    """Conv blocks (3x3 conv, optional BN, activation, 2x2 max-pool), then a dropout + linear head.

    `channels` sets the width and the depth (one block per entry).
    """

    def __init__(self, class_num: int = 10, in_channels: int = 1, image_size: int = 28,
                 channels: list[int] = (32, 64), activation: Activation = "relu",
                 batch_norm: bool = True, dropout: float = 0.0):
        super().__init__()
        blocks, width, size = [], in_channels, image_size
        for out in channels:
            blocks += [nn.Conv2D(width, out, 3, padding=1, bias_attr=not batch_norm)]
            if batch_norm:
                blocks.append(nn.BatchNorm2D(out))
            blocks += [make_activation(activation), nn.MaxPool2D(2, 2)]
            width, size = out, size // 2
        if size < 1:
            raise ValueError("too many conv blocks for the image size")
        self.features = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(width * size * size, class_num)

    def forward(self, x):
        x = paddle.flatten(self.features(x), 1)
        return self.head(self.dropout(x))
