"""Faults around real runs: configs only the libraries can reject, odd file names, a run
directory two processes want, a kill during the final writes, a torn metrics line, resume
with another model, file modes, a full disk, every LR schedule resumed exactly."""
import json
import os
import re
import resource
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from paddle_suite import load_config, train
from paddle_suite.cli import run
from paddle_suite.data.datasets import mnist10k
from paddle_suite.runs.checkpoint import load_weights
from paddle_suite.runs.lock import RunLock

from ..conftest import LENET, ROOT, tiny_overrides

DIGITS = {"DataLoader.classes": "null", "Arch.class_num": 10, "Metric.topk": "[1]",
          "DataLoader.Train.dataset": "{name: SklearnDigits, split: train, per_class: 8}",
          "DataLoader.Eval.dataset": "{name: SklearnDigits, split: test}",
          "DataLoader.Train.batch_size": 16, "Callbacks.VisualDL": "false",
          "Optimizer.lr": "{name: Constant, learning_rate: 0.002}"}  # runs may be extended


def digits_cfg(out, epochs=2, **extra):
    return load_config(LENET, tiny_overrides(out, epochs, **{**DIGITS, **extra}))


def digits_argv(out, epochs=2, **extra):
    argv = ["-c", str(LENET)]
    for item in tiny_overrides(out, epochs, **{**DIGITS, **extra}):
        argv += ["-o", item]
    return argv


def clear_error(code, err):
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1


@pytest.mark.parametrize("extra, message", [
    ({"DataLoader.Train.transforms": "[{RandomCrop: {size: 64}}, {ToCHW: {}}]"},
     "DataLoader.Train.transforms: the transforms fail on the first sample"),
    ({"DataLoader.Eval.transforms": "[{ToCHW: {}}, {Normalize: {mean: [0.5, 0.5, 0.5], "
                                    "std: [0.5, 0.5, 0.5]}}]"},
     "DataLoader.Eval.transforms: the transforms fail on the first sample"),
    ({"DataLoader.Train.transforms": "[{Resize: {size: 0}}, {ToCHW: {}}]"},
     "DataLoader.Train.transforms"),
    ({"Arch.name": "SmallCNN", "Arch.image_size": 32}, "Arch: running the model on one sample"),
    ({"Arch.name": "MLP", "Arch.image_size": 20}, "Arch: running the model on one sample"),
])
def test_configs_only_the_libraries_can_reject_are_clear_errors(tmp_path, capsys, train_main,
                                                                  extra, message):
    code = run(train_main, digits_argv(tmp_path / "logs", 1, **extra))
    err = capsys.readouterr().err
    clear_error(code, err)
    assert message in err
    assert not (tmp_path / "logs").exists()  # no run directory left behind


@pytest.mark.parametrize("make_output", [
    lambda t: (t / "a-file").write_text("x") and t / "a-file",
    lambda t: Path("/proc/self/no-such-dir"),
])
def test_an_output_dir_that_cannot_hold_runs_is_named(tmp_path, capsys, train_main, make_output):
    output = make_output(tmp_path)
    code = run(train_main, digits_argv(tmp_path, 1) + ["-o", f"Global.output_dir={output}"])
    err = capsys.readouterr().err
    clear_error(code, err)
    assert "Global.output_dir: creating a run directory under" in err


def test_training_reads_images_whose_names_are_not_utf8(tmp_path):
    digits = mnist10k("test")
    root = os.fsencode(tmp_path / "tree")
    for label in (0, 1):
        os.makedirs(root + b"/%d" % label)
        for i in np.flatnonzero(digits.labels == label)[:12]:
            ok, buf = cv2.imencode(".png", digits.images[i])
            with open(root + b"/%d/d\xe9\xff-%d.png" % (label, i), "wb") as f:
                f.write(buf.tobytes())
    folder = f"{{name: ImageFolder, root: '{tmp_path / 'tree'}'}}"
    for skip in ("false", "true"):
        result = train(load_config(LENET, tiny_overrides(
            tmp_path / skip, 1, **{"DataLoader.Train.dataset": folder,
                                   "DataLoader.Eval.dataset": folder,
                                   "DataLoader.classes": "null",
                                   "DataLoader.skip_bad_samples": skip,
                                   "Callbacks.VisualDL": "{images: false}"})))
        assert result.summary["status"] == "completed"
        assert result.summary["epochs_run"] == 1


def test_a_second_writer_is_refused_and_a_stale_lock_is_taken_over(tmp_path, capsys,
                                                                     train_main):
    first = train(digits_cfg(tmp_path, 1))
    again = digits_argv(tmp_path, 2) + ["-o", f"Global.checkpoints={first.run_dir}"]
    capsys.readouterr()
    with RunLock(first.run_dir):  # a live holder: this process
        code = run(train_main, again)
    err = capsys.readouterr().err
    clear_error(code, err)
    assert f"is in use by process {os.getpid()} on host" in err
    assert len((first.run_dir / "metrics.jsonl").read_text().splitlines()) == 1  # untouched
    (first.run_dir / ".lock").write_text('{"pid": 999999, "host": "gone", "since": "then"}')
    assert run(train_main, again) == 0  # the holder died: its lock went with it
    assert json.loads((first.run_dir / "summary.json").read_text())["epochs_run"] == 2


def test_two_resumes_at_once_one_wins_the_other_is_refused(tmp_path):
    first = train(digits_cfg(tmp_path, 1))
    args = [sys.executable, str(ROOT / "tools" / "train.py")] + digits_argv(tmp_path, 4) + \
        ["-o", f"Global.checkpoints={first.run_dir}"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outcomes = sorted((p.wait(timeout=300), p.stderr.read()) for p in procs)
    assert [code for code, _ in outcomes] == [0, 2], outcomes
    assert "is in use by process" in outcomes[1][1]
    epochs = [json.loads(l)["epoch"] for l in (first.run_dir / "metrics.jsonl").read_text()
              .splitlines()]
    assert epochs == [1, 2, 3, 4]


def test_resume_finishes_a_run_killed_while_writing_its_final_files(tmp_path, capsys,
                                                                     train_main):
    older = train(digits_cfg(tmp_path, 2))
    newer = train(digits_cfg(tmp_path, 2))  # finished: --resume must pass it over
    final = load_weights(older.run_dir / "checkpoints" / "final.pdparams")
    (older.run_dir / "summary.json").unlink()  # as if killed before the final files
    (older.run_dir / "checkpoints" / "final.pdparams").unlink()
    os.utime(older.run_dir, (1, 1))  # directory times say nothing about which run is newer
    os.utime(newer.run_dir / "config.yaml", None)
    capsys.readouterr()
    code = run(train_main, digits_argv(tmp_path, 2) + ["--resume"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"--resume: continuing {older.run_dir}, the newest unfinished run" in err
    summary = json.loads((older.run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_run"] == 2
    again = load_weights(older.run_dir / "checkpoints" / "final.pdparams")
    assert all(np.array_equal(final[k], again[k]) for k in final)
    code = run(train_main, digits_argv(tmp_path, 2) + ["--resume"])
    err = capsys.readouterr().err
    clear_error(code, err)
    assert "no unfinished run" in err


@pytest.mark.parametrize("change, message", [
    ({"DataLoader.classes": "[0, 1, 2, 3, 4]", "Arch.class_num": 5},
     "Arch: {'name': 'LeNet', 'class_num': 10"),
    ({"Arch.name": "SmallCNN"}, "Arch: {'name': 'LeNet'"),
    ({"Optimizer.name": "Momentum"}, "Optimizer.name: 'Adam' then, 'Momentum' now"),
])
def test_resume_with_another_model_or_optimizer_is_a_clear_error(tmp_path, capsys, train_main,
                                                                  change, message):
    first = train(digits_cfg(tmp_path, 1))
    capsys.readouterr()
    code = run(train_main, digits_argv(tmp_path, 2, **change)
               + ["-o", f"Global.checkpoints={first.run_dir}"])
    err = capsys.readouterr().err
    clear_error(code, err)
    assert "was trained with another configuration" in err and message in err


def test_a_torn_metrics_line_does_not_block_resume(tmp_path):
    first = train(digits_cfg(tmp_path, 1))
    with open(first.run_dir / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 2, "train_lo')  # a write cut short by a crash
    train(digits_cfg(tmp_path, 2, **{"Global.checkpoints": first.run_dir}))
    rows = [json.loads(l) for l in (first.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]


@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755),
                                                        (0o027, 0o640, 0o750)])
def test_files_follow_the_umask(tmp_path, umask, file_mode, dir_mode):
    old = os.umask(umask)
    try:
        result = train(digits_cfg(tmp_path, 1))
    finally:
        os.umask(old)
    ckpt = result.run_dir / "checkpoints"
    for path in [ckpt / "best.pdparams", ckpt / "final.pdparams", result.run_dir /
                 "summary.json", result.run_dir / "per_class.json",
                 *(ckpt / "resume").glob("epoch-*/*")]:
        assert path.stat().st_mode & 0o777 == file_mode, path
    for path in (ckpt / "resume").glob("epoch-*"):
        assert path.stat().st_mode & 0o777 == dir_mode, path


def test_a_full_disk_is_a_clear_error(tmp_path):
    """RLIMIT_FSIZE makes every write past 64 KiB fail as a full disk would (EFBIG);
    the LeNet checkpoint is about 250 KB."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "train.py")]
                          + digits_argv(tmp_path, 1), capture_output=True, text=True,
                          timeout=300, preexec_fn=limit,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "cannot write" in proc.stderr and "checkpoints written before are intact" in proc.stderr
    assert re.search(r"cannot write /\S+(pdparams|pdopt|pkl|json|tmp)", proc.stderr), proc.stderr


def test_top_k_with_step_evaluations_on_the_epoch_boundary_keeps_k_files(tmp_path):
    steps = -(-80 // 16)  # 10 classes x 8 per class, batch 16
    result = train(digits_cfg(tmp_path, 4, **{"Global.eval_steps": steps,
                                              "Callbacks.Checkpoint": "{top_k: 2}"}))
    files = sorted((result.run_dir / "checkpoints").glob("top-*.pdparams"))
    assert len(files) == 2, files
    rows = [json.loads(l) for l in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 4


class StopAfter:
    """Interrupt `fit` when epoch `n` begins (the checkpoint of epoch n-1 is on disk)."""

    def __init__(self, n):
        from paddle.callbacks import Callback

        from paddle_suite.callbacks.run_state import run_epoch

        class _Stop(Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if run_epoch(self, epoch) == n:
                    raise KeyboardInterrupt
        self.callback = _Stop()


@pytest.mark.parametrize("schedule", [
    "{name: CosineWarmRestarts, learning_rate: 0.01, T_0: 1, T_mult: 2}",
    "{name: CosineWarmRestarts, learning_rate: 0.01, T_0: 0.4, T_mult: 2, step_on: step}",
    "{name: OneCycle, learning_rate: 0.01, step_on: step, warmup_epoch: 1}",
    "{name: Cyclic, learning_rate: 0.001, max_learning_rate: 0.01, step_size_up: 1}",
])
def test_every_schedule_resumes_exactly(tmp_path, schedule):
    extra = {"Optimizer.lr": schedule, "Optimizer.name": "Momentum"}
    reference = train(digits_cfg(tmp_path / "ref", 4, **extra))
    with pytest.raises(KeyboardInterrupt):
        train(digits_cfg(tmp_path / "cut", 4, **extra), callbacks=[StopAfter(3).callback])
    run_dir = next((tmp_path / "cut").glob("*/*"))
    resumed = train(digits_cfg(tmp_path / "cut", 4, **{**extra, "Global.checkpoints": run_dir}))
    a, b = (load_weights(r.run_dir / "checkpoints" / "final.pdparams")
            for r in (reference, resumed))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert [r["lr"] for r in reference.history] == [r["lr"] for r in resumed.history]


STOPPERS = {
    "early stopping": {"Callbacks.EarlyStopping": "{monitor: acc, stopping_threshold: 0.0}"},
    "plateau floor": {"Callbacks.PlateauDecay": "{monitor: loss, patience: 0, factor: 0.5, "
                                                "floor_ratio: 0.5, min_delta: 100.0}"},
}
TIMING = ("wall_seconds", "train_samples_per_second", "seconds", "samples_per_second",
          "eval_seconds")


def without_timing(value):
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def finished_files(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((run_dir / "summary.json").read_text())
    return (without_timing(rows), without_timing(summary),
            load_weights(run_dir / "checkpoints" / "final.pdparams"))


@pytest.mark.parametrize("stopper", STOPPERS)
@pytest.mark.parametrize("killed_before", [("summary.json", "final.pdparams"), ("summary.json",)])
def test_a_stopped_run_killed_during_its_final_writes_is_finished_not_trained_on(
        tmp_path, capsys, train_main, stopper, killed_before):
    import shutil
    reference = train(digits_cfg(tmp_path / "ref", 6, **STOPPERS[stopper]))
    assert reference.summary["epochs_run"] < 6, reference.summary["stop_reason"]
    rows, summary, weights = finished_files(reference.run_dir)
    killed = tmp_path / "killed" / reference.run_dir.name
    shutil.copytree(reference.run_dir, killed)
    (killed / ".lock").unlink(missing_ok=True)
    for name in killed_before:
        next(killed.rglob(name)).unlink()
    capsys.readouterr()
    argv = digits_argv(tmp_path / "killed", 6, **STOPPERS[stopper])
    assert run(train_main, argv + ["-o", f"Global.checkpoints={killed}"]) == 0
    assert "stopped the run after epoch" in capsys.readouterr().err
    again_rows, again_summary, again_weights = finished_files(killed)
    assert again_rows == rows and again_summary["stop_reason"] == summary["stop_reason"]
    assert without_timing(again_summary) == {**summary, "epochs_planned": 6}
    assert all(np.array_equal(weights[k], again_weights[k]) for k in weights)
    code = run(train_main, argv + ["-o", f"Global.checkpoints={killed}"])  # finished now
    err = capsys.readouterr().err
    clear_error(code, err)
    assert "that decision is kept" in err and "Arch.pretrained=" in err


def rewrite_consistently(checkpoint, name, obj=None, data=None):
    """Replace one file of a resume checkpoint and fix its manifest, as a tamperer would."""
    import hashlib
    import pickle
    data = data if data is not None else pickle.dumps(obj, protocol=4)
    (checkpoint / name).write_bytes(data)
    manifest = json.loads((checkpoint / "manifest.json").read_text())
    manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (checkpoint / "manifest.json").write_text(json.dumps(manifest))


def tamper_optimizer(how):
    def change(state):
        key = next(k for k, v in state.items() if isinstance(v, np.ndarray) and v.size > 1)
        if how == "renamed":
            state["not_a_param" + key[key.index("_"):]] = state.pop(key)
        else:
            state[key] = np.zeros(state[key].shape + (2,), state[key].dtype)
        return state
    return change


TAMPERED = {
    "optimizer keys renamed": ("optimizer.pdopt", tamper_optimizer("renamed"),
                               "belongs to no parameter"),
    "a moment of the wrong shape": ("optimizer.pdopt", tamper_optimizer("shape"), "has shape"),
    "state a list": ("state.pkl", lambda s: [1, 2, 3], "not the run state of epoch 2"),
    "state without rng": ("state.pkl", lambda s: {k: v for k, v in s.items() if k != "rng"},
                          "not the run state"),
    "state shaped like weights": ("state.pkl", lambda s: {"w": np.ones(3, np.float32)},
                                  "not the run state"),
    "state of another epoch": ("state.pkl", lambda s: {**s, "epoch": 5}, "not the run state"),
    "a callback's state cut": ("state.pkl", lambda s: {**s, "callbacks": {
        k: {} for k in s["callbacks"]}}, "its saved state does not restore"),
}


@pytest.mark.parametrize("tamper", TAMPERED)
def test_a_tampered_checkpoint_with_a_consistent_manifest_is_a_named_exit_2(
        tmp_path, capsys, train_main, tamper):
    from paddle_suite.runs.checkpoint import load_pickle
    first = train(digits_cfg(tmp_path, 2))
    newest = first.run_dir / "checkpoints" / "resume" / "epoch-0002"
    name, change, message = TAMPERED[tamper]
    loader = load_pickle if name == "state.pkl" else \
        (lambda p: load_weights(p, tensors_only=False))
    rewrite_consistently(newest, name, change(loader(newest / name)))
    capsys.readouterr()
    code = run(train_main, digits_argv(tmp_path, 3) + ["-o", f"Global.checkpoints={newest}"])
    err = capsys.readouterr().err
    clear_error(code, err)
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("damage", ["folder replaced by a file", "manifest of another epoch"])
def test_a_damaged_newest_checkpoint_falls_back_and_is_written_anew(tmp_path, capsys,
                                                                    train_main, damage):
    import shutil
    first = train(digits_cfg(tmp_path, 3))
    newest = first.run_dir / "checkpoints" / "resume" / "epoch-0003"
    if damage == "folder replaced by a file":
        shutil.rmtree(newest)
        newest.write_text("not a checkpoint")
    else:
        manifest = json.loads((newest / "manifest.json").read_text())
        rewrite_consistently(newest, "manifest.json",
                             data=json.dumps({**manifest, "epoch": 5}).encode())
    (first.run_dir / "summary.json").unlink()
    capsys.readouterr()
    assert run(train_main, digits_argv(tmp_path, 3) + ["--resume"]) == 0
    err = capsys.readouterr().err
    assert "skipped damaged checkpoint" in err and "epoch-0003" in err
    summary = json.loads((first.run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_run"] == 3
    assert json.loads((newest / "manifest.json").read_text())["epoch"] == 3  # written anew


def test_tools_that_cannot_write_exit_2_naming_the_file(tmp_path):
    """Paths the file system refuses even to root: a folder where the report writes a
    picture, a file where the export wants a folder."""
    first = train(digits_cfg(tmp_path, 1))
    (first.run_dir / "learning_curves.png").unlink()
    (first.run_dir / "learning_curves.png").mkdir()
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    for argv, named in ((["report.py", str(first.run_dir)], "learning_curves.png"),
                        (["export_model.py", *digits_argv(tmp_path, 1), "-o",
                          f"Global.pretrained_model={first.run_dir}", "--out",
                          str(blocker / "inference")], str(blocker))):
        proc = subprocess.run([sys.executable, str(ROOT / "tools" / argv[0]), *argv[1:]],
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("error: ") and named in proc.stderr, proc.stderr


def test_an_os_error_reaching_a_tool_is_one_named_paragraph(capsys):
    """Whatever the layer, a file-system refusal becomes exit 2 naming the file."""
    import errno

    from paddle_suite.cli import run as run_tool

    def main(argv):
        raise OSError(errno.EROFS, "Read-only file system", "/runs/x/.lock")
    assert run_tool(main, []) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: /runs/x/.lock: Read-only file system.") and "Traceback" not in err


def tool_run(*argv):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "train.py"), *argv],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_resume_through_the_flag_writes_byte_identical_checkpoints(tmp_path):
    """--resume loads the config once, so paddle's parameter names (kept in every .pdparams)
    are those of the uninterrupted run: the files are equal byte for byte."""
    import shutil
    assert tool_run(*digits_argv(tmp_path, 2)).returncode == 0
    (run_dir,) = (tmp_path / "lenet_mnist").iterdir()
    reference = {p.name: p.read_bytes()
                 for p in (run_dir / "checkpoints" / "resume" / "epoch-0002").iterdir()}
    shutil.rmtree(run_dir / "checkpoints" / "resume" / "epoch-0002")  # killed in epoch 2
    for name in ("summary.json", "checkpoints/final.pdparams"):
        (run_dir / name).unlink()
    proc = tool_run(*digits_argv(tmp_path, 2), "--resume")
    assert proc.returncode == 0, proc.stderr
    again = run_dir / "checkpoints" / "resume" / "epoch-0002"
    for name in ("network.pdparams", "optimizer.pdopt"):
        assert (again / name).read_bytes() == reference[name], name


def test_resume_says_what_is_there_when_nothing_can_be_continued(tmp_path, capsys, train_main):
    code = run(train_main, digits_argv(tmp_path, 1) + ["--resume"])
    assert code == 2 and "no run of experiment 'lenet_mnist'" in capsys.readouterr().err
    first = train(digits_cfg(tmp_path, 1))
    import shutil
    shutil.rmtree(first.run_dir / "checkpoints" / "resume")  # as if killed in epoch 1
    (first.run_dir / "summary.json").unlink()
    code = run(train_main, digits_argv(tmp_path, 1) + ["--resume"])
    assert code == 2 and "has no resume checkpoint" in capsys.readouterr().err
    second = train(digits_cfg(tmp_path, 1))
    (second.run_dir / "report.md").unlink()  # killed while writing the report
    code = run(train_main, digits_argv(tmp_path, 1) + ["--resume"])
    err = capsys.readouterr().err
    assert code == 2 and f"python tools/report.py {second.run_dir}" in err


@pytest.mark.parametrize("damage", ["deleted", "cut to its first row"])
def test_a_lost_metrics_file_is_rewritten_from_the_checkpoint(tmp_path, capsys, train_main,
                                                              damage):
    first = train(digits_cfg(tmp_path, 2))
    metrics = first.run_dir / "metrics.jsonl"
    rows = metrics.read_text().splitlines()
    if damage == "deleted":
        metrics.unlink()
    else:
        metrics.write_text(rows[0] + "\n")
    assert run(train_main, digits_argv(tmp_path, 3)
               + ["-o", f"Global.checkpoints={first.run_dir}"]) == 0
    assert "rewritten from the resume checkpoint's 2 rows" in capsys.readouterr().err
    again = metrics.read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in again] == [1, 2, 3] and again[:2] == rows


@pytest.mark.parametrize("best_is_newest", [True, False])
def test_a_damaged_best_file_is_mended_or_set_aside_on_resume(tmp_path, capsys, train_main,
                                                              best_is_newest):
    """A truncated best.pdparams does not stay unreadable after a successful resume. When
    it was the newest epoch's weights, the resume checkpoint of that epoch is the same file
    (checkpoint store: one write, hard links), so the damage reaches it too: its manifest
    says so, the run resumes from the epoch before and trains the lost epoch again."""
    extra = {} if best_is_newest else {"Optimizer.lr": "{name: Constant, learning_rate: 1e-12}"}
    first = train(digits_cfg(tmp_path, 2, **extra))  # 1e-12: epoch 2 is no better than 1
    assert first.summary["best_epoch"] == (2 if best_is_newest else 1)
    best = first.run_dir / "checkpoints" / "best.pdparams"
    best.write_bytes(best.read_bytes()[:100])
    (first.run_dir / "summary.json").unlink()
    capsys.readouterr()
    assert run(train_main, digits_argv(tmp_path, 2, **extra) + ["--resume"]) == 0
    err = capsys.readouterr().err
    if best_is_newest:
        assert "skipped damaged checkpoint" in err and "epoch-0002" in err
        assert "written again from the checkpoint of epoch 1" in err
        load_weights(best)  # readable again
    else:
        assert "set aside as best.pdparams.damaged" in err
        assert not best.exists() and best.with_name("best.pdparams.damaged").exists()
