"""The run's state: one writer (RunClock), read by the other callbacks; scripted sequences."""
import math

from paddle_suite.callbacks.monitor import Monitor
from paddle_suite.callbacks.run_state import RunClock, RunState, run_epoch, state_of


class Reader:
    """A callback that only reads the state, as the suite's callbacks do."""
    params = None


def test_the_clock_counts_times_and_keeps_the_best_for_everyone():
    state = RunState(epochs_before=3, total_epochs=6, monitor=Monitor("acc"))
    clock, reader = RunClock(state), Reader()
    params = {"epochs": 3}
    clock.params = reader.params = params
    clock.on_train_begin()
    assert state_of(reader) is state and run_epoch(reader, 0) == 4
    for epoch, acc in enumerate([0.5, 0.7, 0.6]):
        clock.on_epoch_begin(epoch)
        for _ in range(4):
            clock.on_train_batch_end(0, {"batch_size": 16})
        clock.on_eval_end({"acc": acc, "epoch": state.epoch})
        assert state.improved == (acc != 0.6)
        clock.on_epoch_end(epoch)
    assert (state.epoch, state.global_step, state.epoch_samples) == (6, 12, 64)
    assert (state.best_value, state.best_epoch) == (0.7, 5)
    assert state.samples_per_second == 64 / state.epoch_seconds
    assert state.train_samples == 192 and state.train_seconds > 0


def test_nan_never_improves_and_the_state_survives_a_resume():
    state = RunState(monitor=Monitor("loss"))
    clock = RunClock(state)
    clock.params = {"epochs": 1}
    clock.on_train_begin()
    clock.on_eval_end({"loss": math.nan, "epoch": 1})
    assert not state.improved and state.best_value is None
    clock.on_eval_end({"loss": 0.3, "epoch": 1})
    saved = clock.state_dict()
    resumed = RunState(epochs_before=1, monitor=Monitor("loss"))
    RunClock(resumed).load_state_dict(saved)
    assert (resumed.best_value, resumed.best_epoch, resumed.epochs_before) == (0.3, 1, 1)


def test_a_callback_used_alone_counts_from_hapis_index():
    reader = Reader()
    reader.params = {"epochs": 2}
    assert run_epoch(reader, 0) == 1 and state_of(reader) is state_of(reader)


def test_a_runs_callbacks_are_ordered_by_declared_phase(tiny_cfg, tmp_path):
    """The assembly sorts by phase: the clock first, the guards, EMA, the Evaluator before
    the watchers it feeds, the LR stepper before what reads the stepped schedule, and the
    resume checkpoint last."""
    from paddle_suite.callbacks.run_state import Phase, phase_of
    from paddle_suite.lifecycle.engine import build
    from paddle_suite.lifecycle.run_callbacks import RunCallbacks
    cfg = tiny_cfg(**{"Callbacks.EMA": "{decay: 0.9}", "Callbacks.EarlyStopping": "{}",
                      "Callbacks.Snapshots": "{}", "Callbacks.VisualDL": "false"})
    built = build(cfg, train=True)
    callbacks = RunCallbacks(cfg, built, tmp_path)
    names = [type(c).__name__ for c in callbacks.all]
    phases = [phase_of(c) for c in callbacks.all]
    assert phases == sorted(phases)
    assert names[0] == "RunClock" and names[-1] == "ResumeState"
    assert phases[names.index("EMA")] == Phase.AVERAGE
    assert names.index("Evaluator") < names.index("RunRecorder") < names.index("LRStepper")
    assert names.index("EarlyStopping") < names.index("LRStepper") < names.index("Snapshots")
    assert names.index("CheckpointSaver") < names.index("ResumeState")
