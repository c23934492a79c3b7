"""Run in PaddleClas's own environment: build each named network with ppcls, give its batch
norms non-trivial statistics, and save its state dict and its logits on a fixed input.

    python paddleclas_networks.py OUT_DIR NAME [NAME ...]
"""
import sys
from pathlib import Path

import numpy as np
import paddle
from paddleclas.ppcls.arch import backbone

out = Path(sys.argv[1])
x = np.random.default_rng(0).normal(size=(2, 3, 64, 64)).astype("float32")
for name in sys.argv[2:]:
    paddle.seed(1)
    net = getattr(backbone, name)(pretrained=False, class_num=10)
    net.eval()
    for layer in net.sublayers():
        if isinstance(layer, (paddle.nn.BatchNorm2D, paddle.nn.BatchNorm)):
            layer._mean.set_value(paddle.randn(layer._mean.shape) * 0.1)
            layer._variance.set_value(paddle.rand(layer._variance.shape) + 0.5)
    paddle.save(net.state_dict(), str(out / f"{name}.pdparams"))
    np.savez(out / f"{name}.npz", x=x, logits=net(paddle.to_tensor(x)).numpy())
    print(name, len(net.state_dict()))
