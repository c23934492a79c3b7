"""Preemption and kills mid-epoch, through `tools/train.py` in a subprocess as a cluster runs
it: a SIGTERM becomes a resume checkpoint within one update and exit status 75, and the
same command (`Global.resume: auto`) finishes the run bit-identical to an uninterrupted one;
SIGKILLs at random steps (bench/preemption.py) likewise; under Paddle's launcher, both
processes stop at the same update and resume identical."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from paddle_suite.runs.checkpoint import load_weights

from ..conftest import LENET, ROOT
from .test_distributed import env, free_port

SMALL = ["Global.epochs=3", "DataLoader.classes=[0,1]", "Arch.class_num=2", "Metric.topk=[1]",
         "DataLoader.Train.batch_size=16", "Global.log_interval=1", "Callbacks.VisualDL=false",
         "Report=false", "Global.resume=auto"]


def train_argv(out, *extra, launcher=None):
    argv = [str(ROOT / "tools" / "train.py"), "-c", str(LENET)]
    for item in SMALL + [f"Global.output_dir={out}", *extra]:
        argv += ["-o", item]
    return [sys.executable, *(launcher or []), *argv]


def signal_after(argv, log: Path | None, lines: int, sig, cwd=None, timeout=300):
    """Start argv; once `lines` training-step lines were logged (its stderr, or `log` under
    the launcher), send `sig`; its exit status and stderr."""
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=env(), cwd=cwd)
    deadline, seen = time.time() + timeout, 0
    if log is None:
        for line in proc.stderr:
            seen += line.startswith("epoch ") and " step " in line
            if seen >= lines:
                proc.send_signal(sig)
                break
    else:
        while time.time() < deadline and proc.poll() is None:
            text = log.read_text() if log.exists() else ""
            if text.count(" step ") >= lines:
                proc.send_signal(sig)
                break
            time.sleep(0.2)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def newest_run(out):
    return max(p for p in (out / "lenet_mnist").iterdir() if p.is_dir())


def same_weights(a, b):
    x, y = load_weights(a), load_weights(b)
    for name, value in x.items():
        np.testing.assert_array_equal(np.asarray(y[name]), np.asarray(value), err_msg=name)


def test_sigterm_stops_within_one_update_and_the_same_command_finishes_identically(tmp_path):
    ref = subprocess.run(train_argv(tmp_path / "ref"), capture_output=True, text=True, env=env())
    assert ref.returncode == 0, ref.stderr[-2000:]
    argv = train_argv(tmp_path / "cut")
    code, err = signal_after(argv, None, 30, signal.SIGTERM)
    assert code == 75, err[-2000:]
    assert "preempted: SIGTERM received; stopped after update" in err
    run = newest_run(tmp_path / "cut")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "preempted"
    log = (run / "train.log").read_text()
    after = log.split("SIGTERM received")[1]
    assert sum(" step " in line for line in after.splitlines()) <= 1  # the update under way
    checkpoint = sorted((run / "checkpoints" / "resume").glob("epoch-*"))[-1]
    assert "-step-" in checkpoint.name  # mid-epoch
    again = subprocess.run(argv, capture_output=True, text=True, env=env())
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"continuing {run}" in again.stderr
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    same_weights(newest_run(tmp_path / "ref") / "checkpoints" / "final.pdparams",
                 run / "checkpoints" / "final.pdparams")


def test_sigkills_at_random_steps_resume_bit_identical():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "preemption.py"), "--kills",
                           "3"], capture_output=True, text=True, env=env(), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "3 SIGKILLs at random steps; every resumed run bit-identical: True" in proc.stdout


def test_sigterm_under_the_launcher_stops_every_process_at_one_update(tmp_path):
    def launcher(logs):
        return ["-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
                str(logs), "--master", f"127.0.0.1:{free_port()}"]
    extra = ["DataLoader.Train.global_batch_size=32"]
    ref = subprocess.run(train_argv(tmp_path / "ref", *extra, launcher=launcher(tmp_path / "l0")),
                         capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=600)
    assert ref.returncode == 0, ref.stdout[-2000:]
    cut = tmp_path / "cut"
    code, _ = signal_after(train_argv(cut, *extra, launcher=launcher(tmp_path / "l1")),
                           tmp_path / "l1" / "workerlog.0", 20, signal.SIGTERM, cwd=tmp_path)
    logs = [(tmp_path / "l1" / f"workerlog.{r}").read_text() for r in (0, 1)]
    stops = [line.split("stopped after update ")[1].split(" ")[0] for text in logs
             for line in text.splitlines() if line.startswith("preempted:")]
    assert len(stops) == 2 and stops[0] == stops[1], logs[0][-1500:]  # the same update
    run = newest_run(cut)
    assert json.loads((run / "summary.json").read_text())["status"] == "preempted"
    again = subprocess.run(train_argv(cut, *extra, launcher=launcher(tmp_path / "l2")),
                           capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stdout[-2000:]
    same_weights(newest_run(tmp_path / "ref") / "checkpoints" / "final.pdparams",
                 run / "checkpoints" / "final.pdparams")
