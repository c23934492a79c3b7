"""Metrics for `paddle.Model.prepare`: top-k accuracy and the true mean loss.

hapi reports the *last batch's* loss under `loss` in eval logs. `MeanLoss` is also named
`loss`; hapi writes metric values after the batch loss, so with it the `loss` that callbacks
and `Model.evaluate` see is the sample-weighted mean over the whole pass (a regression test
in tests/unit/test_hapi_behaviour.py guards this).
"""
from __future__ import annotations

import numpy as np
import paddle


class Accuracy(paddle.metric.Accuracy):
    """Top-k accuracy named `acc` (top-1) and `acc_top{k}` for the other k."""

    def name(self):
        return ["acc" if k == 1 else f"acc_top{k}" for k in self.topk]


class MeanLoss(paddle.metric.Metric):
    """Mean of `loss_fn` over every sample seen since the last reset (named `loss`)."""

    def __init__(self, loss_fn):
        super().__init__()
        self.loss_fn = loss_fn
        self.reset()

    def compute(self, pred, label):
        with paddle.no_grad():
            return self.loss_fn(pred, label) * pred.shape[0], paddle.to_tensor(pred.shape[0])

    def update(self, total, count):
        self.total += float(np.asarray(total).sum())
        self.count += int(np.asarray(count).sum())
        return self.accumulate()

    def reset(self):
        self.total, self.count = 0.0, 0

    def accumulate(self):
        return self.total / self.count if self.count else float("nan")

    def name(self):
        return "loss"


def metric_label(name: str) -> str:
    """A metric's name as the tools print it (`acc` is top-1)."""
    return "top-1" if name == "acc" else name


def shown_value(name: str, value) -> str:
    """A metric's value as the tools print it: accuracies as percentages."""
    if value is None:
        return "none"
    return f"{100 * value:.2f}%" if "acc" in name else f"{value:.4g}"


def effective_topk(section: dict, class_num: int) -> list[int]:
    """The k values of `Metric.topk` that make sense for `class_num` classes (1 at least)."""
    return sorted({k for k in section["topk"] if k <= class_num}) or [1]


def metric_names(section: dict, class_num: int) -> list[str]:
    """The eval log keys a run produces: the accuracies and the true mean `loss`."""
    return ["acc" if k == 1 else f"acc_top{k}" for k in effective_topk(section, class_num)] \
        + ["loss"]


def build_metrics(section: dict, loss_fn, class_num: int) -> list:
    """Top-k accuracy (k clipped to the number of classes), the true mean loss, and a silent
    collector of the last evaluation's predictions (for curves and reports)."""
    return [Accuracy(topk=tuple(effective_topk(section, class_num))), MeanLoss(loss_fn),
            PredictionCollector()]


class PredictionCollector(paddle.metric.Metric):
    """Keeps the softmax outputs and labels of the last complete evaluation pass.

    Silent (adds no log keys) and idle during training (it collects only under no_grad, as
    hapi's eval and predict run). `last()` returns (probabilities [N, C], labels [N]) of the
    most recent finished pass, or None.
    """

    def __init__(self):
        super().__init__()
        self._probs, self._labels, self._last = [], [], None

    def compute(self, pred, label):
        if paddle.is_grad_enabled():
            return paddle.zeros([0]), paddle.zeros([0])
        return paddle.nn.functional.softmax(pred, axis=-1), label

    def update(self, probs, labels):
        if np.size(probs):
            labels = np.asarray(labels)
            soft = labels.ndim == 2 and labels.shape[1] > 1
            self._probs.append(np.asarray(probs))
            self._labels.append(labels.argmax(-1) if soft else labels.reshape(-1))
        return []

    def reset(self):
        if self._probs:
            self._last = (np.concatenate(self._probs), np.concatenate(self._labels))
        self._probs, self._labels = [], []

    def accumulate(self):
        return []

    def name(self):
        return []

    def last(self):
        return self._last
