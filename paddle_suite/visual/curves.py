"""Classification curves and tables computed with numpy: PR and ROC at fixed thresholds,
the confusion matrix and per-class precision / recall / F1."""
from __future__ import annotations

import numpy as np


def thresholds_of(num_thresholds: int = 127) -> np.ndarray:
    """The fixed thresholds k / (num_thresholds - 1) every curve is computed at."""
    return np.linspace(0.0, 1.0, num_thresholds)


def at_least(scores, thresholds: np.ndarray) -> np.ndarray:
    """How many scores are >= each threshold; memory and time linear in the scores (a
    histogram over the thresholds, so a 50,000 x 1,000 probability matrix needs no copy)."""
    hist, _ = np.histogram(np.asarray(scores).reshape(-1), bins=np.append(thresholds, np.inf))
    return hist[::-1].cumsum()[::-1]


def counts_from(tp: np.ndarray, fp: np.ndarray, positives: int, negatives: int,
                thresholds: np.ndarray) -> dict:
    """TP, FP, TN, FN at each threshold from the positives' and negatives' counts above it."""
    return {"thresholds": thresholds, "tp": tp, "fp": fp, "fn": positives - tp,
            "tn": negatives - fp}


def threshold_counts(labels, scores, num_thresholds: int = 127) -> dict:
    """TP, FP, TN, FN when predicting positive for score >= t, for t = k / (num_thresholds-1).

    `labels` are 0/1, `scores` in [0, 1] (e.g. the softmax probability of one class).
    """
    labels = np.asarray(labels).astype(bool).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    thresholds = thresholds_of(num_thresholds)
    return counts_from(at_least(scores[labels], thresholds), at_least(scores[~labels], thresholds),
                       int(labels.sum()), int((~labels).sum()), thresholds)


def micro_counts(probs: np.ndarray, labels, num_thresholds: int = 127) -> dict:
    """The micro-average over classes: every (sample, class) pair is one decision, positive
    when the class is the sample's label (one-vs-rest pooled over all classes)."""
    probs = np.asarray(probs)
    labels = np.asarray(labels).reshape(-1)
    thresholds = thresholds_of(num_thresholds)
    tp = at_least(probs[np.arange(len(labels)), labels], thresholds)
    return counts_from(tp, at_least(probs, thresholds) - tp, len(labels),
                       probs.size - len(labels), thresholds)


def pr_from(c: dict) -> dict:
    """Precision and recall at each threshold.

    Above the highest score nothing is predicted and precision is undefined; it takes the
    precision at the highest threshold that predicts anything (1 where nothing ever is). So
    a model whose scores are all equal (a collapsed one) draws what it is, a flat line at
    the positives' share, not the line from (0, 1) to (1, share) that the usual "precision
    1 at recall 0" end point draws; a working model's curve keeps its usual shape."""
    predicted = c["tp"] + c["fp"]
    precision = np.where(predicted > 0, c["tp"] / np.maximum(predicted, 1), np.nan)
    seen = np.flatnonzero(predicted > 0)
    precision[np.isnan(precision)] = precision[seen[-1]] if len(seen) else 1.0
    recall = c["tp"] / max(int(c["tp"][0] + c["fn"][0]), 1)
    return {**c, "precision": precision, "recall": recall}


def roc_from(c: dict) -> dict:
    """True- and false-positive rates at each threshold (TPR = TP/(TP+FN), FPR = FP/(FP+TN))."""
    tpr = c["tp"] / max(int(c["tp"][0] + c["fn"][0]), 1)
    fpr = c["fp"] / max(int(c["fp"][0] + c["tn"][0]), 1)
    return {**c, "tpr": tpr, "fpr": fpr}


def pr_curve(labels, scores, num_thresholds: int = 127) -> dict:
    """Precision and recall of one class at each threshold."""
    return pr_from(threshold_counts(labels, scores, num_thresholds))


def roc_curve(labels, scores, num_thresholds: int = 127) -> dict:
    """TPR and FPR of one class at each threshold."""
    return roc_from(threshold_counts(labels, scores, num_thresholds))


def confusion_matrix(labels, predicted, num_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels).reshape(-1), np.asarray(predicted).reshape(-1)), 1)
    return matrix


def per_class_metrics(matrix: np.ndarray, names: list[str]) -> list[dict]:
    """Precision, recall, F1 and support for each class of a confusion matrix."""
    rows = []
    for i, name in enumerate(names):
        tp = int(matrix[i, i])
        predicted, actual = int(matrix[:, i].sum()), int(matrix[i, :].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"class": name, "precision": precision, "recall": recall, "f1": f1,
                     "support": actual})
    return rows
