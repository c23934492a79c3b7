"""The hapi defects that the suite's control callbacks exist for, shown on plain hapi."""
import warnings

import numpy as np
import paddle
import pytest

from paddle_suite.callbacks import EarlyStopping, PlateauDecay
from paddle_suite.training.optim import ScaledLR

from .test_hapi_behaviour import CountEpochs, loader


def model_with(lr):
    paddle.seed(0)
    net = paddle.nn.Linear(4, 3)
    model = paddle.Model(net)
    model.prepare(paddle.optimizer.SGD(lr, parameters=net.parameters()),
                  paddle.nn.CrossEntropyLoss(), paddle.metric.Accuracy())
    return model


class Learnable(paddle.io.Dataset):
    """A linearly separable 3-class problem: the loss falls every epoch."""

    def __init__(self):
        rng = np.random.default_rng(1)
        self.x = rng.normal(size=(96, 4)).astype("float32")
        self.y = (self.x @ rng.normal(size=(4, 3))).argmax(axis=1).astype("int64")

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    def __len__(self):
        return len(self.y)


def test_hapi_early_stopping_default_patience_stops_after_the_first_evaluation():
    data = paddle.io.DataLoader(Learnable(), batch_size=96)
    losses = []
    for callback in (paddle.callbacks.EarlyStopping(monitor="loss", mode="min"),
                     EarlyStopping(monitor="loss", patience=1)):
        model = model_with(0.5)
        counter, seen = CountEpochs(), LossLog()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(data, data, epochs=5, verbose=0, save_dir=None,
                      callbacks=[callback, counter, seen])
        losses.append(seen.values)
        if isinstance(callback, EarlyStopping):
            assert counter.epochs == 5  # the loss fell at every evaluation: no reason to stop
        else:
            assert counter.epochs == 1  # hapi stopped after evaluation 1 although improving
    assert losses[1] == sorted(losses[1], reverse=True)


class LossLog(paddle.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.values = []

    def on_eval_end(self, logs=None):
        self.values.append(float(np.asarray(logs["loss"]).reshape(-1)[0]))


def test_hapi_reduce_on_plateau_ignores_schedulers_and_ours_scales_them():
    sched = paddle.optimizer.lr.CosineAnnealingDecay(0.1, T_max=100)
    model = model_with(sched)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        model.fit(loader(), loader(), epochs=3, verbose=0,
                  callbacks=[paddle.callbacks.ReduceLROnPlateau(monitor="acc", patience=0,
                                                                factor=0.1, verbose=0),
                             paddle.callbacks.LRScheduler(by_step=False, by_epoch=True)])
    reference = paddle.optimizer.lr.CosineAnnealingDecay(0.1, T_max=100)
    for _ in range(3):
        reference.step()
    assert sched() == pytest.approx(reference())  # never cut: still the plain cosine

    scaled = ScaledLR(paddle.optimizer.lr.CosineAnnealingDecay(0.1, T_max=100))
    model = model_with(scaled)
    plateau = PlateauDecay(scaled, monitor="acc", patience=1, factor=0.1, floor_ratio=1e-6)
    model.fit(loader(), loader(), epochs=4, verbose=0,
              callbacks=[plateau, paddle.callbacks.LRScheduler(by_step=False, by_epoch=True)])
    assert plateau.changes and scaled() < 0.02
    assert model._optimizer.get_lr() == scaled()  # the optimizer really uses the cut LR


def test_hapi_cannot_run_paddles_reduce_on_plateau_scheduler():
    sched = paddle.optimizer.lr.ReduceOnPlateau(0.1)
    model = model_with(sched)
    with pytest.raises(TypeError, match="metrics"):
        model.fit(loader(), epochs=1, verbose=0)
