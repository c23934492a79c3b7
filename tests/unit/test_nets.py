"""LeNet: the same network and weight names as Paddle's, with an optional nonlinear head."""
import numpy as np
import paddle
import pytest

from paddle_suite.models import LeNet


def test_lenet_matches_paddles_own_lenet_weight_for_weight():
    paddle.seed(0)
    ours, theirs = LeNet(), paddle.vision.models.LeNet(num_classes=10)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.set_state_dict(ours.state_dict())
    x = paddle.randn([4, 1, 28, 28])
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), rtol=1e-5, atol=1e-6)


def test_paddles_lenet_head_is_one_linear_map():
    paddle.seed(0)
    net = LeNet()
    (w0, b0), (w1, b1), (w2, b2) = [(l.weight.numpy(), l.bias.numpy()) for l in net.fc]
    features = np.random.default_rng(0).normal(size=(3, 400)).astype("float32")
    collapsed = features @ (w0 @ w1 @ w2) + (b0 @ w1 @ w2 + b1 @ w2 + b2)
    np.testing.assert_allclose(net.fc(paddle.to_tensor(features)).numpy(), collapsed,
                               rtol=1e-4, atol=1e-5)


def test_head_activation_keeps_the_weight_names_and_changes_the_function():
    paddle.seed(0)
    plain, relu = LeNet(), LeNet(head_activation="relu")
    assert list(relu.state_dict()) == list(plain.state_dict())
    relu.set_state_dict(plain.state_dict())  # weights move between the two forms
    x = paddle.randn([4, 1, 28, 28])
    hidden = paddle.flatten(plain.features(x), 1)
    expected = plain.fc[2](paddle.nn.functional.relu(plain.fc[1](
        paddle.nn.functional.relu(plain.fc[0](hidden)))))
    np.testing.assert_allclose(relu(x).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(relu(x).numpy(), plain(x).numpy())


def fake_run(tmp_path, *overrides):
    """A run directory as training leaves it: config.yaml, checkpoints/best.pdparams and
    checkpoints/final.pdparams (the weights a run directory stands for)."""
    from paddle_suite import load_config

    from ..conftest import LENET
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    cfg = load_config(LENET, [f"Global.output_dir={tmp_path}", *overrides])
    (run / "config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")
    paddle.save(LeNet().state_dict(), str(run / "checkpoints" / "best.pdparams"))
    paddle.save(LeNet().state_dict(), str(run / "checkpoints" / "final.pdparams"))
    return run, cfg


def test_weights_from_a_run_that_built_another_network_are_refused(tmp_path):
    from paddle_suite.errors import UserError
    from paddle_suite.models import check_same_network
    run, plain = fake_run(tmp_path, "Arch.head_activation=null")
    weights = run / "checkpoints" / "best.pdparams"
    check_same_network(weights, plain["Arch"])  # the same network: nothing to say
    check_same_network(weights, {**plain["Arch"], "class_num": 5, "pretrained": "x"})
    with pytest.raises(UserError, match=r"Arch.head_activation: None in the run, 'relu' here"):
        check_same_network(weights, {**plain["Arch"], "head_activation": "relu"})


def test_weights_outside_a_run_or_with_an_unreadable_config_are_not_judged(tmp_path):
    from paddle_suite.models import check_same_network
    run, plain = fake_run(tmp_path)
    relu_arch = {**plain["Arch"], "head_activation": "tanh"}
    loose = tmp_path / "weights.pdparams"
    loose.write_bytes((run / "checkpoints" / "best.pdparams").read_bytes())
    check_same_network(loose, relu_arch)
    for text in ("Arch: [not, a, mapping]", "a: &a [*a]", "Arch: {name: NoSuchNet}"):
        (run / "config.yaml").write_text(text, encoding="utf-8")
        check_same_network(run / "checkpoints" / "best.pdparams", relu_arch)


def test_transfer_from_another_network_loads_with_a_warning(tmp_path, suite_log):
    from paddle_suite.models import build_model
    run, plain = fake_run(tmp_path, "Arch.head_activation=null")
    net = build_model({**plain["Arch"], "head_activation": "relu", "pretrained": str(run)})
    assert len(net.pretrained_report["loaded"]) == 10
    assert "Arch.head_activation: None in the run, 'relu' here" in suite_log.text


def test_export_and_ensemble_refuse_another_network_before_building(tmp_path):
    from paddle_suite import load_config
    from paddle_suite.deploy.export import export_model
    from paddle_suite.errors import UserError
    from paddle_suite.lifecycle.ensemble import evaluate_ensemble

    from ..conftest import LENET
    run, _ = fake_run(tmp_path, "Arch.head_activation=null")
    relu = load_config(LENET, [f"Global.output_dir={tmp_path}",
                               f"Global.pretrained_model={run}"])
    with pytest.raises(UserError, match="Arch.head_activation: None in the run, 'relu' here"):
        export_model(relu, str(tmp_path / "model"))
    assert not (tmp_path / "model").exists()
    weights = run / "checkpoints" / "best.pdparams"
    with pytest.raises(UserError, match="Arch.head_activation: None in the run, 'relu' here"):
        evaluate_ensemble(relu, [weights, weights])
