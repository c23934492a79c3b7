"""Caffe solvers expressed exactly: max_iter, multistep stepvalues in iterations, iter_size.

Caffe's rules: update i (0-based) uses base_lr * gamma ** (number of stepvalues <= i); with
iter_size k each update applies the mean gradient of k batches; training ends after exactly
max_iter updates. Caffe streams batches without epochs; here an epoch's last, partial group
is its own update, weighted by its real size (docs/training_control.md).
"""
import numpy as np
import paddle
import pytest
from paddle.callbacks import Callback

from paddle_suite import load_config, train
from paddle_suite.callbacks.accumulation import AccumulationGroups, group_size
from paddle_suite.training.losses import AccumulatedLoss

from ..conftest import ROOT, tiny_overrides

SOLVER = ROOT / "configs" / "caffe" / "lenet_solver.yaml"


class UpdateLRs(Callback):
    """The LR each optimizer update used (read before the schedule steps)."""

    def __init__(self, k):
        super().__init__()
        self.k, self.lrs = k, []

    def on_train_batch_end(self, step, logs=None):
        if (step + 1) % self.k == 0 or step + 1 == self.params["steps"]:
            self.lrs.append(self.model._optimizer.get_lr())


def caffe_multistep(base_lr, gamma, stepvalues, iterations):
    return [base_lr * gamma ** sum(s <= i for s in stepvalues) for i in range(iterations)]


def test_the_shipped_solver_follows_caffe_lr_rule_and_stops_at_max_iter(tmp_path):
    # 80 digits, batch 16 -> 5 batches, iter_size 2 -> 3 updates per epoch (the last one
    # of a single batch); 10 updates end one update into epoch 4; stepvalues 4 and 7 fall
    # inside epochs 2 and 3
    overrides = tiny_overrides(tmp_path, 1, **{
        "DataLoader.classes": "null", "Arch.class_num": 10, "Metric.topk": "[1]",
        "DataLoader.Train.dataset": "{name: SklearnDigits, split: train, per_class: 8}",
        "DataLoader.Eval.dataset": "{name: SklearnDigits, split: test}",
        "DataLoader.Train.batch_size": 16, "Callbacks.VisualDL": "false",
        "Global.max_updates": 10, "Optimizer.lr.milestones": "[4, 7]"})
    recorder = UpdateLRs(2)
    cfg = load_config(SOLVER, overrides)
    result = train(cfg, callbacks=[recorder])
    assert recorder.lrs == pytest.approx(caffe_multistep(0.01, 0.1, [4, 7], 10), rel=1e-9)
    assert result.summary["lr_schedule_steps"] == 10
    assert result.summary["epochs_run"] == 4 and result.summary["epochs_planned"] == 4
    # the planned epochs are the run's (its config.yaml), not written into the caller's config
    assert cfg["Global"]["epochs"] == 1
    assert "epochs: 4" in (result.run_dir / "config.yaml").read_text()


def test_an_accumulated_update_is_the_mean_gradient_of_its_group_at_the_epoch_end_too():
    """5 batches, iter_size 2: updates over batches (1, 2), (3, 4) and (5) alone; each is
    lr x the mean gradient of its own batches (hapi's own accumulation would halve the last)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3)).astype("float32")
    y = rng.normal(size=(10, 1)).astype("float32")
    paddle.seed(0)
    net = paddle.nn.Linear(3, 1)
    w0, b0 = net.weight.numpy().copy(), net.bias.numpy().copy()
    loss = AccumulatedLoss(paddle.nn.MSELoss(), 2)
    model = paddle.Model(net)
    model.prepare(paddle.optimizer.SGD(0.1, parameters=net.parameters()), loss)
    data = paddle.io.TensorDataset([paddle.to_tensor(x), paddle.to_tensor(y)])
    model.fit(paddle.io.DataLoader(data, batch_size=2, shuffle=False), epochs=1, verbose=0,
              accumulate_grad_batches=2, callbacks=[AccumulationGroups(loss, 2)])
    w, b = w0.copy(), b0.copy()
    for group in ([0, 1], [2, 3], [4]):
        gw, gb = np.zeros_like(w), np.zeros_like(b)
        for i in group:
            xb, yb = x[2 * i:2 * i + 2], y[2 * i:2 * i + 2]
            err = xb @ w + b - yb  # d/dw of mean((xw + b - y)^2) over the batch
            gw += 2 * xb.T @ err / len(xb)
            gb += 2 * err.mean(0)
        w, b = w - 0.1 * gw / len(group), b - 0.1 * gb / len(group)
    np.testing.assert_allclose(net.weight.numpy(), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.bias.numpy(), b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("steps, k, sizes", [(5, 2, [2, 2, 2, 2, 1]), (6, 3, [3] * 6),
                                             (7, 3, [3] * 6 + [1])])
def test_group_sizes(steps, k, sizes):
    assert [group_size(s, steps, k) for s in range(steps)] == sizes
