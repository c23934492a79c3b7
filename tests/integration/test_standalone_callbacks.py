"""The suite's callbacks under a plain `paddle.Model.fit`, without the suite's run: each
does its job on its own (they share a clock that the first of them keeps)."""
import json
import math
import subprocess
import sys

import numpy as np
import paddle

from paddle_suite.callbacks import (
    CheckpointSaver,
    EarlyStopping,
    Evaluator,
    Monitor,
    PlateauDecay,
    RunRecorder,
    WeightStats,
)
from paddle_suite.training.metrics import MeanLoss
from paddle_suite.training.optim import ScaledLR


class Blobs(paddle.io.Dataset):
    """Two separable classes of 8 numbers."""

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        self.y = rng.integers(0, 2, n)
        self.x = (rng.normal(size=(n, 8)) + self.y[:, None] * 2).astype("float32")

    def __getitem__(self, i):
        return self.x[i], np.int64(self.y[i])

    def __len__(self):
        return len(self.y)


class Counter(paddle.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_eval_end(self, logs=None):
        self.epochs.append(logs["epoch"])


def model_and_data(lr=0.05):
    paddle.seed(0)
    net = paddle.nn.Linear(8, 2)
    model = paddle.Model(net)
    loss = paddle.nn.CrossEntropyLoss()
    model.prepare(paddle.optimizer.SGD(lr, parameters=net.parameters()), loss,
                  [paddle.metric.Accuracy(), MeanLoss(loss)])
    loader = paddle.io.DataLoader(Blobs(64, 1), batch_size=16)
    return model, paddle.io.DataLoader(Blobs(256, 0), batch_size=32, shuffle=True), loader


def test_evaluator_checkpoints_and_records_work_under_a_plain_fit(tmp_path):
    model, train_loader, eval_loader = model_and_data()
    counter = Counter()
    saver = CheckpointSaver(tmp_path / "ckpt", Monitor("acc"))
    recorder = RunRecorder(tmp_path / "metrics.jsonl")
    evaluator = Evaluator(eval_loader, [counter, saver, recorder])
    model.fit(train_loader, epochs=4, verbose=0, callbacks=[evaluator, saver, recorder])
    assert counter.epochs == [1, 2, 3, 4]
    assert (tmp_path / "ckpt" / "best.pdparams").is_file()
    rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert all(r["batches"] == 8 and math.isfinite(r["samples_per_second"])
               and r["samples_per_second"] > 0 and "eval_acc" in r for r in rows)


def test_weight_stats_record_the_norms_and_update_size_under_a_plain_fit(tmp_path):
    """The norm at each epoch's start and end chain up, and the update ratio is each
    sampled SGD step's ||lr * grad|| / ||w||: positive, small, and 0 at LR 0."""
    model, train_loader, _ = model_and_data()
    weights = [p.numpy().copy() for p in model.network.parameters()]
    stats = WeightStats()
    recorder = RunRecorder(tmp_path / "metrics.jsonl", extras=[stats])
    model.fit(train_loader, epochs=3, verbose=0, callbacks=[recorder, stats])
    rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    start = math.sqrt(sum(float((w.astype("float64") ** 2).sum()) for w in weights))
    assert rows[0]["weight_norm_start"] == float(f"{start:.6g}")
    assert [r["weight_norm_start"] for r in rows[1:]] == [r["weight_norm"] for r in rows[:-1]]
    assert all(0 < r["update_ratio"] < 0.5 for r in rows)
    model, train_loader, _ = model_and_data(lr=0.0)
    stats = WeightStats()
    model.fit(train_loader, epochs=1, verbose=0, callbacks=[stats])
    assert stats.row()["update_ratio"] is None  # no update moved anything


def test_early_stopping_and_plateau_decay_act_under_a_plain_fit():
    model, train_loader, eval_loader = model_and_data(lr=0.0)  # nothing improves
    scaled = ScaledLR(paddle.optimizer.lr.StepDecay(0.01, step_size=1000))
    early = EarlyStopping(monitor="loss", patience=1, min_delta=10.0)
    plateau = PlateauDecay(scaled, monitor="loss", patience=1, min_delta=10.0)
    evaluator = Evaluator(eval_loader, [early, plateau])
    model.fit(train_loader, epochs=10, verbose=0, callbacks=[evaluator, early, plateau])
    assert early.stop_reason and "early stopping" in early.stop_reason
    assert early.state.best_epoch == 1


def test_the_callbacks_package_imports_without_opencv(tmp_path):
    """A training script that only wants the callbacks needs neither OpenCV nor the engine."""
    blocker = tmp_path / "cv2.py"
    blocker.write_text("raise ImportError('no OpenCV in this environment')\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "import paddle_suite.callbacks as c\n"
            "assert c.EarlyStopping and 'paddle_suite.lifecycle.engine' not in sys.modules\n"
            "print('ok')")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
