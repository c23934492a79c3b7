"""Weight-init schemes: their statistics, sparsity and the symmetry warning."""
import numpy as np
import paddle
import pytest

from paddle_suite.models import MLP, apply_init


def weights(net):
    return [l.weight.numpy() for l in net.sublayers() if isinstance(l, paddle.nn.Linear)]


def test_kaiming_and_xavier_have_the_textbook_variance():
    net = MLP(hidden=[512], image_size=32)  # first layer 1024 -> 512
    apply_init(net, "kaiming", seed=0)
    assert weights(net)[0].std() == pytest.approx(np.sqrt(2 / 1024), rel=0.02)
    apply_init(net, "xavier", seed=0)
    assert weights(net)[0].std() == pytest.approx(np.sqrt(2 / (1024 + 512)), rel=0.02)
    apply_init(net, "fan_in", seed=0)
    assert weights(net)[0].std() == pytest.approx(1 / np.sqrt(1024), rel=0.02)


def test_sparse_init_connects_each_unit_to_exactly_k_inputs():
    net = MLP(hidden=[64], image_size=28)
    apply_init(net, "sparse", seed=0, k=15)
    first = weights(net)[0]  # [in, out]: column j holds unit j's incoming weights
    assert ((first != 0).sum(axis=0) == 15).all()


def test_constant_init_warns_and_makes_units_identical(suite_log):
    net = MLP(hidden=[8], image_size=4)
    apply_init(net, "constant", value=0.1, bias=0.0)
    assert "identical weights" in suite_log.text
    out = net.body(paddle.rand([3, 16]))
    assert np.allclose(out.numpy(), out.numpy()[:, :1])  # every hidden unit computes the same


def test_init_is_repeatable_with_a_seed():
    a, b = MLP(image_size=8), MLP(image_size=8)
    apply_init(a, "kaiming", seed=3)
    apply_init(b, "kaiming", seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(weights(a), weights(b)))
