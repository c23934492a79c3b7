"""Transfer learning: partial loading (and the hapi crash it avoids), freezing, LR multipliers."""
import numpy as np
import paddle
import pytest

from paddle_suite import ConfigError, UserError, load_config
from paddle_suite.errors import OptionError
from paddle_suite.models import LeNet, SmallCNN, build_model
from paddle_suite.models.finetune import (
    apply_finetune,
    head_parameters,
    load_pretrained,
)

from ..conftest import LENET


@pytest.fixture
def mnist_weights(tmp_path):
    paddle.seed(0)
    net = LeNet(class_num=10)
    paddle.save(net.state_dict(), str(tmp_path / "lenet10.pdparams"))
    return net, tmp_path / "lenet10.pdparams"


def test_hapi_skip_mismatch_crashes_when_the_first_tensor_differs(mnist_weights):
    _, path = mnist_weights
    model = paddle.Model(LeNet(class_num=10, in_channels=3))
    with pytest.raises(UnboundLocalError):
        model.load(str(path.with_suffix("")), skip_mismatch=True)


def test_partial_load_reports_loaded_skipped_and_missing(mnist_weights):
    source, path = mnist_weights
    net = LeNet(class_num=5)  # a new 5-class head
    report = load_pretrained(net, path)
    assert report["skipped_shape"] == ["fc.2.weight [84, 10] -> [84, 5]",
                                       "fc.2.bias [10] -> [5]"]
    assert len(report["loaded"]) == 8 and not report["missing"]
    assert np.array_equal(net.features[0].weight.numpy(), source.features[0].weight.numpy())
    with pytest.raises(UserError, match="matches no tensor of the model"):
        load_pretrained(SmallCNN(class_num=5), path)


def test_train_head_freezes_everything_else_and_batch_norm_statistics():
    net = SmallCNN(class_num=3, channels=[4])
    report = apply_finetune(net, "train_head")
    assert report["trainable"] == ["head.bias", "head.weight"] == sorted(head_parameters(net))
    bn = net.features[1]
    before = bn._mean.numpy().copy()
    net.train()
    net(paddle.rand([4, 1, 28, 28]) * 5)
    assert np.array_equal(bn._mean.numpy(), before)  # running statistics untouched


def test_lr_multipliers_compose_with_the_schedule():
    paddle.seed(0)
    net = paddle.nn.Sequential(paddle.nn.Linear(2, 2), paddle.nn.Linear(2, 1))
    apply_finetune(net, lr_mult={"0.*": 0.1})
    before = [p.numpy().copy() for p in net.parameters()]
    opt = paddle.optimizer.SGD(paddle.optimizer.lr.StepDecay(1.0, 1, 0.5),
                               parameters=net.parameters())
    net(paddle.ones([1, 2])).sum().backward()
    grads = [p.grad.numpy().copy() for p in net.parameters()]
    opt.step()
    steps = [b - p.numpy() for b, p in zip(before, net.parameters())]
    assert np.allclose(steps[0], 0.1 * grads[0]) and np.allclose(steps[2], grads[2])


def test_finetune_config_errors():
    with pytest.raises(OptionError, match="pattern 'backbone.*' matches no parameter"):
        apply_finetune(LeNet(), freeze=["backbone.*"])
    with pytest.raises(ConfigError, match="no published weights for LeNet"):
        load_config(LENET, ["Arch.pretrained=true"])
    cfg = load_config(LENET, ["Arch.finetune={mode: train_head}"])
    net = build_model(cfg["Arch"])
    assert net.finetune_report["trainable"] == ["fc.2.bias", "fc.2.weight"]


def test_weights_of_another_network_are_refused_not_trained_from_scratch(tmp_path):
    """PaddleClas-named weights load 2 of 102 tensors into a paddle.vision network: an error
    naming the counts and the file's own names, unless allow_partial says otherwise."""
    from paddle_suite.errors import UserError
    from paddle_suite.models.finetune import load_pretrained
    net = LeNet(class_num=10)
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    renamed = {("stem." + k if k.startswith("features") else k): v for k, v in state.items()}
    path = tmp_path / "other.pdparams"
    paddle.save(renamed, str(path))
    with pytest.raises(UserError, match=r"does not fit the model: \d+ tensors loaded, 4 of the "
                                        r"model's outside its head not loaded .* named like "
                                        r"stem\.features"):
        load_pretrained(LeNet(class_num=10), path)
    report = load_pretrained(LeNet(class_num=10), path, allow_partial=True)
    assert len(report["missing"]) == 4 and len(report["unexpected"]) == 4
    new_head = {k: v for k, v in state.items() if not k.startswith("fc.2")}  # head only
    paddle.save(new_head, str(tmp_path / "headless.pdparams"))
    report = load_pretrained(LeNet(class_num=10), tmp_path / "headless.pdparams")
    assert report["missing"] == ["fc.2.weight", "fc.2.bias"]
