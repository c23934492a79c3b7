"""Exact resume after real SIGKILLs, atomic saves under kills, damaged checkpoints."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from paddle_suite import UserError, load_config, train
from paddle_suite.runs.checkpoint import load_weights
from paddle_suite.runs.resume_checkpoint import CheckpointError, locate

from ..conftest import LENET, ROOT, tiny_overrides

KILLS = int(os.environ.get("RESUME_KILLS", "5"))
EXTRA = {"Callbacks.EMA": "{decay: 0.9}",
         "Callbacks.PlateauDecay": "{monitor: loss, patience: 1, floor_ratio: 0.001}",
         "DataLoader.Train.batch_size": 64}


def command(out_dir, *more):
    args = [sys.executable, str(ROOT / "tools" / "train.py"), "-c", str(LENET)]
    for item in tiny_overrides(out_dir, epochs=5, **EXTRA):
        args += ["-o", item]
    return args + list(more)


def env():
    return {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}


def final_state(run_dir: Path):
    weights = load_weights(run_dir / "checkpoints" / "final.pdparams")
    rows = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rows = [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_second")}
            for r in rows]
    return weights, rows


def only_run(out_dir: Path) -> Path:
    runs = list((out_dir / "lenet_mnist").iterdir())
    assert len(runs) == 1
    return runs[0]


def kill_at_random(out_dir: Path, rng: random.Random) -> str:
    """Start a run, SIGKILL it at a random moment after its first checkpoint."""
    proc = subprocess.Popen(command(out_dir), env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list(out_dir.glob("*/*/checkpoints/resume/epoch-*")) and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 1.5))
    if proc.poll() is not None:
        return "finished before the kill"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return "killed"


def test_runs_killed_at_random_moments_resume_bit_identically(tmp_path):
    reference = subprocess.run(command(tmp_path / "ref"), env=env(), capture_output=True,
                               text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr
    ref_weights, ref_rows = final_state(only_run(tmp_path / "ref"))
    rng = random.Random(20261124)
    identical, killed = 0, 0
    for i in range(KILLS):
        out = tmp_path / f"kill{i}"
        if kill_at_random(out, rng) != "killed":
            continue
        killed += 1
        resumed = subprocess.run(command(out, "--resume"), env=env(), capture_output=True,
                                 text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        weights, rows = final_state(only_run(out))
        same = rows == ref_rows and all(np.array_equal(weights[k], ref_weights[k])
                                        for k in ref_weights)
        identical += same
    print(f"resume: {identical}/{killed} killed-and-resumed runs bit-identical")
    assert killed >= max(1, KILLS - 2) and identical == killed


SAVER = """
import sys, numpy as np
from paddle_suite.runs.checkpoint import atomic_save
path, i = sys.argv[1], 0
while True:
    i += 1
    atomic_save({{"version": np.full(2_000_000, i, dtype="int64")}}, path)
    print(i, flush=True)
"""


def test_kills_during_saving_never_leave_an_unreadable_checkpoint(tmp_path):
    script = tmp_path / "saver.py"
    script.write_text(SAVER.format())
    target = tmp_path / "ckpt.pdparams"
    rng, unreadable, kills = random.Random(7), 0, 10
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, str(script), str(target)], env=env(),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        proc.stdout.readline()  # at least one complete save exists
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        try:
            version = load_weights(target)["version"]
            assert (version == version[0]).all()
        except (UserError, AssertionError):
            unreadable += 1
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    print(f"atomic saves: {unreadable} unreadable after {kills} kills during saving "
          f"({len(leftovers)} stray temp files)")
    assert unreadable == 0


def test_damaged_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, suite_log):
    cfg = load_config(LENET, tiny_overrides(tmp_path, epochs=3))
    run = train(cfg).run_dir
    resume_dir = run / "checkpoints" / "resume"
    assert sorted(p.name for p in resume_dir.iterdir()) == ["epoch-0002", "epoch-0003"]
    newest = resume_dir / "epoch-0003" / "network.pdparams"
    newest.write_bytes(newest.read_bytes()[:100])
    found = locate(run)
    assert found.epoch == 2 and "epoch-0003" in suite_log.text
    assert "network.pdparams" in suite_log.text
    shutil.rmtree(resume_dir / "epoch-0002")
    with pytest.raises(CheckpointError, match="No intact resume checkpoint.*epoch-0003"):
        locate(run)


def test_training_a_finished_run_longer_never_runs_at_lr_zero_unannounced(tmp_path):
    """The README's extension example: -o Global.checkpoints=<run> -o Global.epochs=<more>
    on the default cosine schedule, which ends at LR 0 when its planned epochs are done."""
    def extend(epochs, *more):
        return train(load_config(LENET, tiny_overrides(tmp_path, epochs=epochs)
                                 + [f"Global.checkpoints={run}", *more]))
    first = train(load_config(LENET, tiny_overrides(tmp_path, epochs=1)))
    run = first.run_dir
    with pytest.raises(UserError, match="already finished 1 epochs"):
        extend(1)
    with pytest.raises(UserError, match="Cosine schedule was planned for 1 epochs") as info:
        extend(2)
    assert "Optimizer.lr.replan=true" in str(info.value)
    again = extend(2, "Optimizer.lr.replan=true")  # the same cosine over the extra epoch
    assert again.run_dir == run and [r["epoch"] for r in again.history] == [1, 2]
    assert again.history[1]["lr"] > 0  # its last update, still on the way down
    assert again.summary["wall_seconds"] > first.summary["wall_seconds"]  # both segments
    fixed = extend(3, "Optimizer.lr.name=Constant", "Optimizer.lr.learning_rate=3e-4")
    assert fixed.history[2]["lr"] == pytest.approx(3e-4)
