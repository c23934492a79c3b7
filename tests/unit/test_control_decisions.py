"""Decision functions of the training-control callbacks, driven by scripted metric sequences."""
import pytest

from paddle_suite.callbacks.checkpoints import rank_top_k
from paddle_suite.callbacks.early_stopping import StopState, stopping_decision
from paddle_suite.callbacks.monitor import Monitor, infer_mode
from paddle_suite.callbacks.nan_guard import likely_cause
from paddle_suite.callbacks.plateau import PlateauState, plateau_decision
from paddle_suite.callbacks.snapshots import cycle_ended
from paddle_suite.errors import OptionError


def first_stop(values, monitor, **kw):
    state = StopState()
    for epoch, value in enumerate(values, 1):
        state, stop, reason = stopping_decision(state, value, epoch, monitor, **kw)
        if stop:
            return epoch, reason, state
    return None, None, state


def test_early_stopping_fires_after_patience_evaluations_without_improvement():
    losses = [1.0, 0.8, 0.7, 0.71, 0.72, 0.69, 0.70, 0.70, 0.70]
    epoch, reason, state = first_stop(losses, Monitor("loss"), patience=3)
    assert epoch == 9 and state.best == 0.69 and state.best_epoch == 6
    assert "did not improve for 3 evaluations" in reason and "since epoch 6" in reason


def test_patience_one_is_not_hapis_patience_zero():
    # improving every time: never stops (hapi's default patience=0 stops after evaluation 1)
    assert first_stop([0.9, 0.8, 0.7, 0.6], Monitor("loss"), patience=1)[0] is None


def test_min_delta_baseline_start_epoch_and_threshold():
    acc = Monitor("acc", min_delta=0.01)
    # +0.005 steps are not improvements beyond min_delta
    assert first_stop([0.90, 0.905, 0.91, 0.915], acc, patience=2)[0] == 3
    # improving but never beating the baseline 0.95: the counter is not reset (Keras: an
    # improving evaluation itself never stops the run)
    assert first_stop([0.90, 0.92, 0.94], Monitor("acc"), patience=3, baseline=0.95)[0] is None
    assert first_stop([0.90, 0.92, 0.94, 0.93], Monitor("acc"), patience=3,
                      baseline=0.95)[0] == 4
    # the first start_from_epoch epochs do not count (Keras: that many warm-up epochs)
    assert first_stop([0.5] * 6, Monitor("loss"), patience=2, start_from_epoch=3)[0] == 6
    epoch, reason, _ = first_stop([0.5, 0.2, 0.04, 0.01], Monitor("loss"), patience=10,
                                  stopping_threshold=0.05)
    assert epoch == 3 and "reached the stopping threshold 0.05" in reason


def test_nan_never_counts_as_an_improvement():
    epoch, reason, state = first_stop([0.5, float("nan")], Monitor("loss"), patience=2)
    assert epoch == 2 and "loss = nan is not finite (best 0.5 at epoch 1)" in reason
    epoch, _, state = first_stop([0.5, float("nan"), float("nan")], Monitor("loss"), patience=2,
                                 check_finite=False)
    assert epoch == 3 and state.best == 0.5


def plateau_trace(values, **kw):
    state, scales, actions = PlateauState(), [], []
    for value in values:
        state, action, _ = plateau_decision(state, value, Monitor("loss"), **kw)
        scales.append(state.scale)
        actions.append(action)
        if action == "stop":
            break
    return scales, actions


def test_plateau_halves_every_patience_stall_down_to_1_over_1024_then_stops():
    scales, actions = plateau_trace([1.0] + [1.0] * 40, patience=2, factor=0.5,
                                    floor_ratio=1 / 1024)
    cuts = [s for s, a in zip(scales, actions) if a in ("cut", "stop")]
    assert cuts == [0.5 ** n for n in range(1, 11)]  # ten halvings, the last reaches 1/1024
    assert actions[-1] == "stop" and actions.count("stop") == 1
    assert len(actions) == 1 + 2 * 10  # one first value, then 2 stalled evaluations per cut


def test_plateau_keeps_the_lr_while_improving_and_honours_cooldown():
    scales, actions = plateau_trace([1.0, 0.9, 0.8, 0.7], patience=1, factor=0.5,
                                    floor_ratio=0.01)
    assert set(actions) == {"keep"} and scales[-1] == 1.0
    scales, actions = plateau_trace([1.0] * 7, patience=1, factor=0.5, floor_ratio=0.01,
                                    cooldown=2)
    assert actions == ["keep", "cut", "keep", "keep", "cut", "keep", "keep"]


def test_bad_control_options_are_clear_errors():
    from paddle_suite.callbacks import EarlyStopping, PlateauDecay
    with pytest.raises(OptionError, match="patience: must be >= 0"):
        EarlyStopping(patience=-1)
    with pytest.raises(OptionError, match=r"factor: must be in \(0, 1\)"):
        PlateauDecay(None, factor=1.0)
    with pytest.raises(OptionError, match="floor_ratio"):
        PlateauDecay(None, floor_ratio=2.0)
    with pytest.raises(OptionError, match="set mode: max or mode: min"):
        Monitor("throughput")
    assert infer_mode("ema_acc_top5") == "max" and infer_mode("val_loss") == "min"


def test_top_k_keeps_the_best_k():
    keep, drop = rank_top_k([(0.9, "a"), (0.95, "b"), (0.8, "c"), (0.97, "d")], 2, "max")
    assert [p for _, p in keep] == ["d", "b"] and {p for _, p in drop} == {"a", "c"}
    keep, _ = rank_top_k([(0.3, "a"), (0.1, "b"), (0.2, "c")], 1, "min")
    assert keep == [(0.1, "b")]


def test_cycle_end_and_divergence_diagnosis():
    assert cycle_ended(1e-5, 4e-3) and not cycle_ended(4e-3, 3.9e-3)
    assert "first update" in likely_cause(1, [], 0.1)
    assert "too high" in likely_cause(50, [0.5, 0.4, 0.9, 3.0], 5.0)
    assert "bad batch" in likely_cause(50, [0.5, 0.4, 0.4], 0.001)
