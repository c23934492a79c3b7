"""Losses against Paddle's reference implementations; soft targets; metrics naming."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddle_suite.data.mixing import MixCollate
from paddle_suite.training.losses import MSE, CrossEntropy, Hinge
from paddle_suite.training.metrics import build_metrics

rng = np.random.default_rng(0)
LOGITS = paddle.to_tensor(rng.normal(size=(6, 4)).astype("float32"))
LABELS = paddle.to_tensor(np.array([0, 1, 2, 3, 1, 0], dtype="int64"))


def test_cross_entropy_matches_paddle_hard_smoothed_and_weighted():
    ref = F.cross_entropy(LOGITS, LABELS.reshape([-1, 1]))
    assert float(CrossEntropy()(LOGITS, LABELS)) == pytest.approx(float(ref), abs=1e-6)
    smooth = F.cross_entropy(LOGITS, LABELS, label_smoothing=0.1)
    assert float(CrossEntropy(label_smoothing=0.1)(LOGITS, LABELS)) == \
        pytest.approx(float(smooth), abs=1e-5)
    weights = [1.0, 2.0, 0.5, 3.0]
    weighted = F.cross_entropy(LOGITS, LABELS, weight=paddle.to_tensor(weights))
    assert float(CrossEntropy(class_weights=weights)(LOGITS, LABELS)) == \
        pytest.approx(float(weighted), abs=1e-5)


def test_soft_targets_equal_hard_labels_when_one_hot():
    onehot = F.one_hot(LABELS, 4).astype("float32")
    for loss in (CrossEntropy(), CrossEntropy(label_smoothing=0.2), MSE(), Hinge()):
        assert float(loss(LOGITS, onehot)) == pytest.approx(float(loss(LOGITS, LABELS)), abs=1e-5)


def test_hinge_on_a_worked_example():
    # CS231n example: scores [3.2, 5.1, -1.7], true class 0 -> max(0, 5.1-3.2+1) + 0 = 2.9
    logits = paddle.to_tensor([[3.2, 5.1, -1.7]])
    assert float(Hinge()(logits, paddle.to_tensor([0]))) == pytest.approx(2.9, abs=1e-5)


def test_mse_on_one_hot_targets():
    logits = paddle.to_tensor([[1.0, 0.0], [0.5, 0.5]])
    # (0 + 0) and (0.25 + 0.25), averaged over 2 samples
    assert float(MSE()(logits, paddle.to_tensor([0, 1]))) == pytest.approx(0.25)


@pytest.mark.parametrize("mode", ["mixup", "cutmix"])
def test_mixing_gives_soft_targets_that_sum_to_one(mode):
    np.random.seed(0)
    batch = [(np.full((1, 8, 8), float(i), np.float32), np.int64(i % 3)) for i in range(6)]
    images, targets = MixCollate(3, mode, alpha=1.0)(batch)
    assert images.shape == (6, 1, 8, 8) and targets.shape == (6, 3)
    assert np.allclose(targets.sum(axis=1), 1.0)
    assert (targets.max(axis=1) < 1.0).any()  # some samples really are mixed


def test_metric_names_and_topk_clipped_to_class_count():
    metrics = build_metrics({"topk": [1, 5]}, CrossEntropy(), class_num=3)
    assert metrics[0].name() == ["acc"]
    assert build_metrics({"topk": [1, 5]}, CrossEntropy(), 10)[0].name() == ["acc", "acc_top5"]
    assert metrics[1].name() == "loss"
