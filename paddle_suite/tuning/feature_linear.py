"""Transfer by feature extraction: the pretrained network, frozen, turns each image into the
vector its classifier head reads; a linear model from scikit-learn (logistic regression or a
linear SVM, on standardised features) is fitted on the labelled training images and scored
on the eval set. No gradient step touches the network."""
from __future__ import annotations

import copy

import numpy as np
import paddle
from paddle import nn

from ..config.loader import Config
from ..errors import OptionError
from ..lifecycle.engine import build
from ..models import last_linear

BATCH = 256
CLASSIFIERS = ("logistic", "linear_svm")


def head_layer(net: nn.Layer) -> nn.Linear:
    """The classifier head: the network's last Linear layer."""
    head = last_linear(net)
    if head is None:
        raise OptionError("feature extraction needs a model whose head is a Linear layer.")
    return head


def extract(net: nn.Layer, view) -> tuple[np.ndarray, np.ndarray]:
    """(features [N, D], labels [N]): the input of the head for every sample of `view`."""
    captured = []
    hook = head_layer(net).register_forward_pre_hook(
        lambda _, inputs: captured.append(inputs[0].numpy()))
    net.eval()
    try:
        with paddle.no_grad():
            for start in range(0, len(view), BATCH):
                batch = [view.load(i)[0] for i in range(start, min(start + BATCH, len(view)))]
                net(paddle.to_tensor(np.stack(batch).astype("float32")))
    finally:
        hook.remove()
    return np.concatenate(captured).reshape(len(view), -1), np.asarray(view.labels)


def make_classifier(name: str, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC
    if name not in CLASSIFIERS:
        raise OptionError(f"classifier {name!r}: choose {' or '.join(CLASSIFIERS)}.")
    model = LogisticRegression(max_iter=5000) if name == "logistic" else \
        LinearSVC(random_state=seed, max_iter=20000)
    return make_pipeline(StandardScaler(), model)


def feature_linear(cfg: Config, classifier: str = "logistic") -> dict:
    """Fit `classifier` on the frozen network's features of the config's training set
    (Arch.pretrained loaded; the images through the Eval transforms); return {"acc": eval top-1, "train_acc", "features": D}."""
    built = build(cfg, train=True)
    plain = copy.copy(built.data.train)  # the training images without augmentation
    plain.transform = built.data.eval.transform
    train_x, train_y = extract(built.net, plain)
    eval_x, eval_y = extract(built.net, built.data.eval)
    model = make_classifier(classifier, cfg["Global"]["seed"]).fit(train_x, train_y)
    return {"acc": float(model.score(eval_x, eval_y)),
            "train_acc": float(model.score(train_x, train_y)), "features": train_x.shape[1]}
