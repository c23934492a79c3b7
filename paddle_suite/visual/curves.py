"""Classification curves and tables computed with numpy: PR and ROC at fixed thresholds,
the confusion matrix and per-class precision / recall / F1."""
from __future__ import annotations

import numpy as np


def threshold_counts(labels, scores, num_thresholds: int = 127) -> dict:
    """TP, FP, TN, FN when predicting positive for score >= t, for t = k / (num_thresholds-1).

    `labels` are 0/1, `scores` in [0, 1] (e.g. the softmax probability of one class).
    """
    labels = np.asarray(labels).astype(bool).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    thresholds = np.linspace(0.0, 1.0, num_thresholds)
    predicted = scores[None, :] >= thresholds[:, None]          # [T, N]
    tp = (predicted & labels).sum(axis=1)
    fp = (predicted & ~labels).sum(axis=1)
    positives, negatives = labels.sum(), (~labels).sum()
    return {"thresholds": thresholds, "tp": tp, "fp": fp, "fn": positives - tp,
            "tn": negatives - fp}


def pr_curve(labels, scores, num_thresholds: int = 127) -> dict:
    """Precision and recall at each threshold (precision is 1 where nothing is predicted)."""
    c = threshold_counts(labels, scores, num_thresholds)
    predicted = c["tp"] + c["fp"]
    precision = np.where(predicted > 0, c["tp"] / np.maximum(predicted, 1), 1.0)
    recall = c["tp"] / max(int(c["tp"][0] + c["fn"][0]), 1)
    return {**c, "precision": precision, "recall": recall}


def roc_curve(labels, scores, num_thresholds: int = 127) -> dict:
    """True- and false-positive rates at each threshold (TPR = TP/(TP+FN), FPR = FP/(FP+TN))."""
    c = threshold_counts(labels, scores, num_thresholds)
    tpr = c["tp"] / max(int(c["tp"][0] + c["fn"][0]), 1)
    fpr = c["fp"] / max(int(c["fp"][0] + c["tn"][0]), 1)
    return {**c, "tpr": tpr, "fpr": fpr}


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
