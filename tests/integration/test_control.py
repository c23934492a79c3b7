"""Training-control callbacks acting through real (tiny) paddle.Model.fit runs."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest

from paddle_suite import ConfigError, evaluate, load_config, train
from paddle_suite.callbacks import LRStepper, TrainingDiverged, recompute_batch_norm
from paddle_suite.data.datasets import mnist10k
from paddle_suite.models import LeNet
from paddle_suite.runs.checkpoint import load_weights
from paddle_suite.training.losses import AccumulatedLoss, CrossEntropy

from ..conftest import LENET, ROOT


def rows(result):
    return [json.loads(l) for l in (result.run_dir / "metrics.jsonl").read_text().splitlines()]


class Digits(paddle.io.Dataset):
    def __init__(self, n=256):
        ds = mnist10k("test")
        self.x = (ds.images[:n].transpose(0, 3, 1, 2).astype("float32") / 255.0)
        self.y = ds.labels[:n]

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    def __len__(self):
        return len(self.y)


def fit_with(batch_size, k):
    paddle.seed(0)
    net = LeNet()
    sched = paddle.optimizer.lr.StepDecay(0.05, step_size=2, gamma=0.5)
    model = paddle.Model(net)
    loss = CrossEntropy()
    model.prepare(paddle.optimizer.SGD(sched, parameters=net.parameters()),
                  AccumulatedLoss(loss, k) if k > 1 else loss)
    stepper = LRStepper(sched, "step", accumulate=k)
    loader = paddle.io.DataLoader(Digits(), batch_size=batch_size, shuffle=False)
    model.fit(loader, epochs=2, verbose=0, accumulate_grad_batches=k, callbacks=[stepper])
    return {n: p.numpy() for n, p in net.named_parameters()}, stepper.steps


def test_accumulating_4_batches_of_16_equals_batches_of_64():
    big, big_steps = fit_with(64, 1)
    small, small_steps = fit_with(16, 4)
    assert big_steps == small_steps == 8  # 4 updates per epoch, one schedule step each
    for name in big:
        np.testing.assert_allclose(small[name], big[name], rtol=1e-4, atol=1e-5)
    plain, _ = fit_with(16, 1)  # without accumulation the result really differs
    assert max(np.abs(plain[n] - big[n]).max() for n in big) > 1e-3


def test_accumulation_in_train_steps_the_schedule_per_update(tiny_cfg):
    result = train(tiny_cfg(epochs=2, **{"Optimizer.accumulate_steps": 4,
                                         "DataLoader.Train.batch_size": 32}))
    batches = -(-1707 // 32)  # 54 batches of the digits 0 and 1
    assert result.summary["lr_schedule_steps"] == 2 * -(-batches // 4)
    assert result.summary["best_value"] > 0.95


def test_nan_guard_stops_within_one_step_and_keeps_the_last_good_checkpoint(tiny_cfg):
    # epoch 1 runs at the warm-up start LR (0.01), epoch 2 at 1e6: divergence in epoch 2
    cfg = tiny_cfg(epochs=3, **{"Optimizer": "{name: SGD, lr: {name: Constant, "
                                              "learning_rate: 1.0e+6, warmup_epoch: 1, "
                                              "warmup_start_lr: 0.01, step_on: epoch}}"})
    with pytest.raises(TrainingDiverged) as info:
        train(cfg)
    message = str(info.value)
    assert "of epoch 2" in message and "learning rate 1e+06" in message
    assert "Likely cause" in message
    run = next((Path(cfg["Global"]["output_dir"]) / "lenet_mnist").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["epochs_run"] == 1
    weights = load_weights(run / "checkpoints" / "last.pdparams")
    assert all(np.isfinite(v).all() for v in weights.values())


def test_early_stopping_stops_and_restores_the_best_weights(tiny_cfg):
    result = train(tiny_cfg(epochs=6, **{
        "Optimizer.lr": "{name: Constant, learning_rate: 0.002}",
        "Callbacks.EarlyStopping": "{monitor: loss, patience: 1, min_delta: 0.5}"}))
    summary = result.summary
    assert summary["epochs_run"] == 2 and summary["stop_reason"].startswith("early stopping")
    assert summary["early_stopping"]["restored_best_weights"] is True
    first = rows(result)[0]
    assert summary["final_eval"]["loss"] == pytest.approx(first["eval_loss"], rel=1e-5)
    final = evaluate(tiny_cfg(), weights=str(result.run_dir / "checkpoints" / "final.pdparams"))
    assert final["loss"] == pytest.approx(first["eval_loss"], rel=1e-5)


def test_plateau_halves_the_real_lr_and_stops_at_the_floor(tiny_cfg):
    result = train(tiny_cfg(epochs=10, **{
        "Optimizer.lr": "{name: Constant, learning_rate: 0.002}",
        "Callbacks.PlateauDecay": "{monitor: loss, patience: 1, min_delta: 10.0, "
                                  "floor_ratio: 0.25}"}))
    lrs = [r["lr"] for r in rows(result)]
    assert lrs == pytest.approx([0.002, 0.002, 0.001])  # cut after eval 2; eval 3 hits 1/4
    changes = result.summary["lr_changes"]
    assert [c["scale"] for c in changes] == [0.5, 0.25] and [c["epoch"] for c in changes] == [2, 3]
    assert result.summary["stop_reason"].startswith("plateau decay")
    assert "train" in (result.run_dir / "train.log").read_text()


def test_ema_and_swa_are_evaluated_and_saved(tiny_cfg):
    result = train(tiny_cfg(epochs=3, **{
        "Arch": "{name: SmallCNN, class_num: 2, channels: [8, 16], batch_norm: true}",
        "Callbacks.EMA": "{decay: 0.9}", "Callbacks.SWA": "{start_epoch: 2}"}))
    last = rows(result)[-1]
    assert "eval_ema_acc" in last and last["eval_ema_acc"] > 0.9
    ckpt = result.run_dir / "checkpoints"
    assert (ckpt / "ema.pdparams").is_file() and (ckpt / "swa.pdparams").is_file()
    swa = result.summary["swa"]
    assert swa["epochs_averaged"] == 2 and swa["eval"]["acc"] > 0.9
    cfg = tiny_cfg(**{"Arch": "{name: SmallCNN, class_num: 2, channels: [8, 16]}"})
    ema_eval = evaluate(cfg, weights=str(ckpt / "ema.pdparams"))
    assert ema_eval["acc"] == pytest.approx(last["eval_ema_acc"])
    final, last_epoch = load_weights(ckpt / "final.pdparams"), load_weights(ckpt / "last.pdparams")
    for name, value in last_epoch.items():  # SWA's BN recomputation left the live model alone
        np.testing.assert_array_equal(final[name], value, err_msg=name)


def test_batch_norm_statistics_are_recomputed_exactly():
    paddle.seed(0)
    net = paddle.nn.Sequential(paddle.nn.BatchNorm2D(1))
    data = Digits(128)
    loader = paddle.io.DataLoader(data, batch_size=32, shuffle=False)
    assert recompute_batch_norm(net, loader) == 1
    batch_means = [data.x[i:i + 32].mean() for i in range(0, 128, 32)]
    assert float(net[0]._mean.numpy()[0]) == pytest.approx(np.mean(batch_means), rel=1e-5)


def test_snapshots_then_ensemble_tool(tiny_cfg, tmp_path):
    result = train(tiny_cfg(epochs=3, **{
        "Optimizer.lr": "{name: CosineWarmRestarts, learning_rate: 0.004, T_0: 1, step_on: step}",
        "Callbacks.Snapshots": "{}", "Callbacks.Checkpoint": "{monitor: acc, top_k: 2}"}))
    assert len(result.summary["snapshots"]) == 3
    assert len(list((result.run_dir / "checkpoints").glob("top-*.pdparams"))) == 2
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    args = [sys.executable, str(ROOT / "tools" / "ensemble.py"), "-c", str(LENET)]
    for item in ("DataLoader.classes=[0, 1]", "Arch.class_num=2", "Metric.topk=[1]"):
        args += ["-o", item]
    out = tmp_path / "ens.json"
    proc = subprocess.run(args + ["--snapshots", str(result.run_dir), "--json", str(out)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "ensemble of 3 (mean softmax)" in proc.stdout
    report = json.loads(out.read_text())
    assert len(report["members"]) == 3 and report["ensemble_acc"] > 0.9


@pytest.mark.parametrize("override, message", [
    ("Callbacks.EarlyStopping={monitor: val_accuracy}", "Available: acc, loss"),
    ("Callbacks.EarlyStopping={monitor: lss}", 'did you mean "loss"'),
    ("Callbacks.PlateauDecay={factor: 1.5}", "factor: must be in (0, 1)"),
    ("Callbacks.PlateauDecay={floor_ratio: 1.0}", "floor_ratio: must be in (0, 1)"),
    ("Callbacks.EarlyStopping={patience: -1}", "patience: must be >= 0"),
    ("Optimizer.accumulate_steps=0", "accumulate_steps: must be at least 1"),
    ("Callbacks.EarlyStoping={}", 'did you mean "EarlyStopping"'),
])
def test_bad_control_options_fail_before_training(tiny_cfg, override, message):
    with pytest.raises(ConfigError) as info:
        cfg = load_config(LENET, [override, "DataLoader.classes=[0, 1]", "Arch.class_num=2",
                                  "Metric.topk=[1]"])
        train(cfg)
    assert message in str(info.value)
