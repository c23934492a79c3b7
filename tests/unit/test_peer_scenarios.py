"""The early-stopping and plateau scenarios of Keras, Lightning and PyTorch's own tests, run
through the suite's decisions. Each expected value is the one the peer's test asserts (its
0-based epoch turned into the suite's 1-based one); where the suite deliberately differs,
the test says so and checks the documented translation (docs/training_control.md).

Sources (read, not copied): keras/src/callbacks/early_stopping_test.py,
lightning tests_pytorch/callbacks/test_early_stopping.py, pytorch test/optim/test_lrscheduler.py.
"""
import math

import numpy as np
import paddle
import pytest

from paddle_suite.callbacks import EarlyStopping
from paddle_suite.callbacks.early_stopping import StopState, stopping_decision
from paddle_suite.callbacks.monitor import Monitor
from paddle_suite.callbacks.plateau import PlateauState, plateau_decision


def stop_epoch(values, monitor=None, **options):
    """1-based epoch at which the decision stops, or None."""
    state, monitor = StopState(), monitor or Monitor("loss", "min")
    for epoch, value in enumerate(values, 1):
        state, stop, _ = stopping_decision(state, float(value), epoch, monitor, **options)
        if stop:
            return epoch
    return None


# --- Keras EarlyStopping ----------------------------------------------------------------------

@pytest.mark.parametrize("patience", [0, 1, 2, 3])
def test_keras_early_stopping_patience(patience):
    losses = [10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5]
    keras_stopped_epoch = max(patience, 1) + 2  # 0-based, as Keras' test asserts
    assert stop_epoch(losses, patience=patience) == keras_stopped_epoch + 1


@pytest.mark.parametrize("patience, keras_epochs", [(3, 6), (0, 4)])
def test_keras_start_from_epoch(patience, keras_epochs):
    # Keras ignores epochs 0 and 1 with start_from_epoch=2; a flat metric then stops after
    # `patience` non-improving epochs (its test asserts >= patience + start_from_epoch;
    # Keras' own code gives exactly these counts)
    assert stop_epoch([0.5] * 10, patience=patience, start_from_epoch=2) == keras_epochs


class WeightsAtEpoch:
    """Keras' DummyModel: the network's only weight is set to the epoch index."""

    def __init__(self):
        paddle.seed(0)
        self.network = paddle.nn.Linear(1, 1, bias_attr=False)
        self.stop_training = False

    def set_epoch(self, epoch):
        self.network.weight.set_value(np.full((1, 1), float(epoch), np.float32))

    @property
    def weight(self):
        return float(self.network.weight.numpy().ravel()[0])


def run_keras_restore(losses, stop_other_at=None, **options):
    stopper = EarlyStopping(monitor="loss", restore_best_weights=True, **options)
    model = WeightsAtEpoch()
    stopper.set_model(model)
    stopper.on_train_begin()
    trained = 0
    for index, loss in enumerate(losses):
        trained += 1
        model.set_epoch(index)
        stopper.on_epoch_begin(index)
        stopper.on_eval_end({"loss": [loss], "epoch": index + 1})
        if index == stop_other_at:
            model.stop_training = True  # another callback asks for the stop
        if model.stop_training:
            break
    stopper.on_train_end()
    return trained, model.weight


def test_keras_restores_the_best_weights_when_it_stops():
    assert run_keras_restore([0.2, 0.15, 0.1, 0.11, 0.12], patience=2) == (5, 2.0)


def test_keras_restores_when_no_epoch_beats_the_baseline():
    assert run_keras_restore([0.9, 0.8, 0.7, 0.71, 0.72, 0.73], patience=5,
                             baseline=0.5) == (5, 2.0)


def test_keras_restores_when_another_callback_stops_the_run():
    assert run_keras_restore([0.9, 0.8, 0.7, 0.71, 0.72, 0.73], stop_other_at=3, patience=5,
                             baseline=0.5) == (4, 2.0)


def test_keras_restores_when_the_run_completes():
    assert run_keras_restore([0.5, 0.3, 0.4, 0.45], patience=10) == (4, 1.0)


def test_best_weights_of_a_step_evaluation_are_restored_within_one_epoch():
    """With Global.eval_steps several evaluations share an epoch number: the best of them,
    not the epoch, decides what is restored."""
    stopper = EarlyStopping(monitor="loss", patience=10)
    model = WeightsAtEpoch()
    stopper.set_model(model)
    stopper.on_train_begin()
    for index, (epoch, loss) in enumerate([(1, 0.5), (1, 0.4), (2, 0.3), (2, 0.35)]):
        model.set_epoch(index)
        stopper.on_eval_end({"loss": [loss], "epoch": epoch})
    stopper.on_train_end()
    assert model.weight == 2.0 and stopper.restored  # the mid-epoch-2 evaluation


# --- Lightning EarlyStopping ------------------------------------------------------------------

@pytest.mark.parametrize("losses, patience, lightning_stop", [
    ([6, 5, 5, 5, 5, 5], 3, 4), ([6, 5, 4, 4, 3, 3], 1, 3), ([6, 5, 6, 5, 5, 5], 3, 4)])
def test_lightning_patience(losses, patience, lightning_stop):
    assert stop_epoch(losses, patience=patience) == lightning_stop + 1


@pytest.mark.parametrize("stopping, divergence, losses, lightning_stop", [
    (None, None, [8, 4, 2, 3, 4, 5, 8, 10], 5),
    (2.9, None, [9, 8, 7, 6, 5, 6, 4, 3, 2, 1], 8),
    (None, 15.9, [9, 4, 2, 16, 32, 64], 3),
])
def test_lightning_thresholds(stopping, divergence, losses, lightning_stop):
    assert stop_epoch(losses, patience=3, stopping_threshold=stopping,
                      divergence_threshold=divergence) == lightning_stop + 1


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_lightning_stops_on_a_non_finite_monitor(bad):
    assert stop_epoch([4, 3, bad, 2, 1], patience=3) == 2 + 1


def test_lightning_multiple_early_stoppers_stop_when_the_first_does():
    abc = stop_epoch([8, 4, 2, 3, 4, 5, 8, 10], patience=3)
    cba = stop_epoch([0] * 8, patience=3)
    assert min(abc, cba) == 3 + 1


def test_a_value_equal_to_the_stopping_threshold_does_not_stop_it():
    # Lightning compares strictly (torch.lt): 2.9 == threshold is not yet below it
    assert stop_epoch([9, 5, 2.9, 2.95], patience=5, stopping_threshold=2.9) is None
    assert stop_epoch([9, 5, 2.9, 2.8], patience=5, stopping_threshold=2.9) == 4


def test_a_threshold_stop_records_the_epoch_that_reached_it_as_the_best():
    state, monitor = StopState(), Monitor("loss", "min")
    for epoch, value in enumerate([9.0, 5.0, 2.0], 1):
        state, stop, reason = stopping_decision(state, value, epoch, monitor, patience=5,
                                                stopping_threshold=2.9)
    assert stop and state.best == 2.0 and state.best_epoch == 3


# --- PyTorch ReduceLROnPlateau ------------------------------------------------------------------

def plateau_lrs(metrics, *, mode, patience, cooldown=0, threshold=1e-4, threshold_mode="rel",
                min_lr=0.0, factor=0.1, start=0.5):
    """The LR after each evaluation, with PyTorch's arguments translated: the suite's patience
    is PyTorch's + 1 (deliberate: Keras' count), min_lr is a floor ratio with at_floor:
    continue, threshold is min_delta."""
    monitor = Monitor("m", mode, threshold, threshold_mode)
    floor = max(min_lr / start, 1e-12)
    state, lrs = PlateauState(), []
    for value in metrics:
        state, _, _ = plateau_decision(state, float(value), monitor, patience=patience + 1,
                                       factor=factor, floor_ratio=floor, cooldown=cooldown,
                                       at_floor="continue")
        lrs.append(start * state.scale)
    return lrs


PYTORCH_PLATEAU = {  # name: (arguments, metrics, targets), from test_reduce_lr_on_plateau1..8
    "1": (dict(threshold_mode="abs", mode="min", threshold=0.01, patience=5, cooldown=5),
          [10 - i * 0.0167 for i in range(20)], [0.5] * 20),
    "2": (dict(patience=5, cooldown=0, threshold_mode="abs", mode="min", threshold=0.1),
          [10 - i * 0.0165 for i in range(22)], [0.5] * 6 + [0.05] * 7 + [0.005] * 7
          + [0.0005] * 2),
    "3": (dict(mode="max", patience=5, cooldown=5, threshold_mode="abs"),
          [-0.8] * 2 + [-0.234] * 20, [0.5] * (2 + 6) + [0.05] * (5 + 6) + [0.005] * 4),
    "4": (dict(mode="max", patience=3, threshold_mode="rel", threshold=0.1),
          [1.5 * (1.025 ** i) for i in range(20)], [0.5] * 20),
    "5": (dict(mode="max", threshold_mode="rel", threshold=0.1, patience=5, cooldown=5),
          [1.5 * (1.005 ** i) for i in range(20)], [0.5] * 6 + [0.05] * (5 + 6) + [0.005] * 4),
    "6": (dict(mode="min", threshold_mode="rel", threshold=0.1, patience=10),
          [1.5 * (0.85 ** i) for i in range(20)], [0.5] * 20),
    "7": (dict(mode="min", threshold_mode="rel", threshold=0.1, patience=5, cooldown=5),
          [1] * 7 + [0.6] + [0.5] * 12, [0.5] * 6 + [0.05] * (5 + 6) + [0.005] * 4),
    "8": (dict(mode="max", threshold_mode="rel", min_lr=0.4, threshold=0.1, patience=5,
               cooldown=5), [1.5 * (1.005 ** i) for i in range(20)], [0.5] * 6 + [0.4] * 14),
}


@pytest.mark.parametrize("name", sorted(PYTORCH_PLATEAU))
def test_pytorch_reduce_lr_on_plateau(name):
    arguments, metrics, targets = PYTORCH_PLATEAU[name]
    epochs = min(len(metrics), len(targets))  # PyTorch's test checks `epochs` entries
    assert plateau_lrs(metrics[:epochs], **arguments) == pytest.approx(targets[:epochs],
                                                                       rel=1e-9)


def test_the_floor_is_never_undershot():
    # 0.005 asked as the floor of a halving schedule: the last cut stops at 0.005, not 0.0039
    state, scales = PlateauState(), []
    for value in [1.0] * 30:
        state, action, _ = plateau_decision(state, value, Monitor("loss"), patience=1,
                                            factor=0.5, floor_ratio=0.005)
        scales.append(state.scale)
        if action == "stop":
            break
    assert min(scales) == 0.005 and action == "stop"


# --- Keras ReduceLROnPlateau (min_delta=100: no evaluation after the first improves) --------

def keras_plateau_lr(epochs, *, patience, cooldown=0, min_lr=0.0, start=0.1, factor=0.1):
    monitor, state = Monitor("loss", "min", 100.0), PlateauState()
    for value in [1.0] * epochs:
        state, _, _ = plateau_decision(state, value, monitor, patience=patience, factor=factor,
                                       floor_ratio=max(min_lr / start, 1e-12),
                                       cooldown=cooldown, at_floor="continue")
    return start * state.scale


def test_keras_reduces_the_lr():
    assert keras_plateau_lr(2, patience=1) == pytest.approx(0.01)


def test_keras_honours_min_lr():
    assert keras_plateau_lr(4, patience=1, min_lr=0.005) == pytest.approx(0.005)


def test_keras_cooldown_counts_one_evaluation_fewer():
    """Deliberate difference: Keras decrements its cooldown before counting, so its
    cooldown=2 pauses one evaluation (0.1 -> 0.01 -> 0.001 in 4 epochs, its test); the suite
    follows PyTorch, where cooldown=N pauses N evaluations. Keras' cooldown c is the suite's
    c - 1."""
    assert keras_plateau_lr(4, patience=1, cooldown=2 - 1) == pytest.approx(0.001)
    assert keras_plateau_lr(4, patience=1, cooldown=2) == pytest.approx(0.01)
