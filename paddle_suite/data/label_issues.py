"""Likely label errors from held-out predictions (confident learning, Northcutt et al. 2021).

A model that trained on a sample has seen its label, right or wrong, and a network memorises
wrong labels too, so its predictions on its own training data hide label errors. Here every
sample is predicted by a model that did not see it: k-fold cross-validated class
probabilities from a nearest-neighbour classifier on small features (a 16x16 thumbnail of
the pixels, or the embeddings a trained network gives). Confident learning then counts, per
pair (given label i, class j), the samples whose probability of j reaches class j's own
average self-confidence (the confident joint), calibrates the counts to the class sizes,
and flags that many samples labelled i, those with the largest margin p_j - p_i
("prune by noise rate", cleanlab's default). A sample the held-out model gets wrong without
such confidence is "hard", not "likely mislabelled".
"""
from __future__ import annotations

import numpy as np

FOLDS = 5
NEIGHBOURS = 15
WEIGHTS = "distance"   # how the neighbours vote
COMPONENTS = 40
THUMBNAIL = 16   # pixels a side for one channel; colour images use 10 (300 features)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """The features of one HWC (or HW) uint8 image: a small area-averaged copy, flattened
    (uint8: 256 bytes for a grey image, 300 for a colour one)."""
    import cv2
    image = np.asarray(image)
    side = THUMBNAIL if image.ndim == 2 or image.shape[2] == 1 else 10
    small = cv2.resize(image.squeeze(), (side, side), interpolation=cv2.INTER_AREA)
    return np.asarray(small, dtype=np.uint8).ravel()


def held_out_probabilities(features: np.ndarray, labels: np.ndarray, classes: int,
                           seed: int = 0) -> np.ndarray:
    """[N, classes] probabilities, each row from a model fitted on the other folds
    (stratified, shuffled with `seed`). Classes with fewer members than the folds get the
    folds they can fill; a class with one member cannot be judged (its row stays uniform)."""
    from sklearn.decomposition import PCA
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    labels = np.asarray(labels)
    probs = np.full((len(labels), classes), 1.0 / classes, dtype=np.float32)
    counts = np.bincount(labels, minlength=classes)
    judged = counts[labels] >= 2
    folds = int(min(FOLDS, counts[counts >= 2].min())) if judged.any() else 0
    if folds < 2:
        return probs
    x, y = features[judged], labels[judged]
    rows = np.flatnonzero(judged)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        components = min(COMPONENTS, x.shape[1], len(train) - 1)
        model = make_pipeline(PCA(components, random_state=seed),
                              KNeighborsClassifier(min(NEIGHBOURS, len(train)),
                                                   weights=WEIGHTS))
        model.fit(x[train], y[train])
        out = np.zeros((len(test), classes), dtype=np.float32)
        out[:, model.classes_] = model.predict_proba(x[test])
        probs[rows[test]] = out
    return probs


def confident_joint(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(counts [C, C] of (given label, confident class), the confident class of each sample
    or -1). A sample's confident class is its likeliest class among those whose probability
    reaches that class's threshold: the mean probability of the class over its own samples."""
    classes = probs.shape[1]
    thresholds = np.array([probs[labels == j, j].mean() if np.any(labels == j) else np.inf
                           for j in range(classes)])
    above = probs >= thresholds
    confident = np.where(above.any(axis=1), np.where(above, probs, -1.0).argmax(axis=1), -1)
    joint = np.zeros((classes, classes))
    np.add.at(joint, (labels[confident >= 0], confident[confident >= 0]), 1)
    return joint, confident


def find_label_issues(probs: np.ndarray, labels: np.ndarray) -> dict:
    """{"issues": indices of likely mislabelled samples, largest margin first,
    "suggested": the class each of them likely is, "margin": p_suggested - p_given,
    "hard": indices the held-out model gets wrong that are not issues}."""
    labels = np.asarray(labels)
    joint, _ = confident_joint(probs, labels)
    sizes = np.bincount(labels, minlength=probs.shape[1])
    counts = np.rint(joint * (sizes / np.maximum(joint.sum(axis=1), 1))[:, None]).astype(int)
    np.fill_diagonal(counts, 0)
    flagged, suggested = {}, {}
    for given, other in zip(*np.nonzero(counts)):  # the off-diagonal cells worth flagging
        rows = np.flatnonzero(labels == given)
        margin = probs[rows, other] - probs[rows, given]
        for k in np.argsort(-margin, kind="stable")[:counts[given, other]]:
            i = int(rows[k])
            if margin[k] > flagged.get(i, -np.inf):
                flagged[i], suggested[i] = margin[k], int(other)
    issues = sorted(flagged, key=lambda i: (-flagged[i], i))
    wrong = np.flatnonzero(probs.argmax(axis=1) != labels)
    return {"issues": np.array(issues, dtype=int),
            "suggested": np.array([suggested[i] for i in issues], dtype=int),
            "margin": np.array([flagged[i] for i in issues]),
            "hard": np.setdiff1d(wrong, issues)}


def precision_recall(found, planted) -> tuple[float, float]:
    """Precision and recall of the indices `found` against the planted errors."""
    found, planted = set(map(int, found)), set(map(int, planted))
    hits = len(found & planted)
    return (hits / len(found) if found else 1.0, hits / len(planted) if planted else 1.0)
