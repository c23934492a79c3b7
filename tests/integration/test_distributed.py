"""Data-parallel training under `python -m paddle.distributed.launch`: 2 CPU processes (gloo)
on the bundled MNIST digits, checked against single-process training and evaluation."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import paddle
import pytest

from paddle_suite import evaluate, load_config, train
from paddle_suite.runs.checkpoint import load_weights

from ..conftest import LENET, ROOT

# Class 5 left out: 7,310 train and 1,827 eval digits, so both shards need padding
# (DistributedBatchSampler repeats samples to even the shards out; the eval must not count them).
CLASSES = "[0, 1, 2, 3, 4, 6, 7, 8, 9]"


def overrides(out_dir, epochs=2, **extra):
    items = {"Global.output_dir": str(out_dir), "Global.epochs": epochs,
             "Global.log_interval": 20, "DataLoader.classes": CLASSES, "Arch.class_num": 9,
             "DataLoader.Train.global_batch_size": 128, "DataLoader.Eval.batch_size": 250,
             **extra}
    return [f"{k}={v}" for k, v in items.items()]


def env(**extra):
    keep = {k: v for k, v in os.environ.items() if not k.startswith("PADDLE_")}
    return {**keep, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1", **extra}


def launch(cwd, log_dir, tool, items, processes=2, timeout=600):
    """Run `tool` under Paddle's launcher with `processes` CPU processes, in `cwd`."""
    args = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node",
            str(processes), "--log_dir", str(log_dir), str(ROOT / "tools" / tool),
            "-c", str(LENET)]
    for item in items:
        args += ["-o", item]
    return subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True,
                          timeout=timeout)


def digest(log_file) -> str:
    found = re.findall(r"final weights sha256 ([0-9a-f]{64})", log_file.read_text())
    assert len(found) == 1, log_file.read_text()[-2000:]
    return found[0]


def rows(run_dir):
    out = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_second")}
            for r in out]


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """One 2-process run of 2 epochs (global batch 128 = 64 per process)."""
    base = tmp_path_factory.mktemp("ddp")
    cwd, out, logs = base / "cwd", base / "logs", base / "launcher"
    cwd.mkdir()
    proc = launch(cwd, logs, "train.py", overrides(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = list((out / "lenet_mnist").iterdir())
    return {"base": base, "cwd": cwd, "out": out, "logs": logs, "runs": runs}


def test_only_rank_0_writes_one_run_directory(launched):
    assert len(launched["runs"]) == 1, launched["runs"]
    run = launched["runs"][0]
    assert [r["epoch"] for r in rows(run)] == [1, 2]  # one row per epoch, not one per rank
    for name in ("config.yaml", "train.log", "summary.json", "report.md", "vdlrecords.run.log",
                 "checkpoints/final.pdparams", "checkpoints/best.pdparams"):
        assert (run / name).exists(), name
    assert sorted(p.name for p in (run / "checkpoints" / "resume").iterdir()) == \
        ["epoch-0001", "epoch-0002"]
    assert list(launched["cwd"].iterdir()) == []  # nothing written where the job started
    assert {p.name for p in launched["logs"].glob("workerlog.*")} == \
        {"workerlog.0", "workerlog.1"}
    rank1 = (launched["logs"] / "workerlog.1").read_text()
    assert "written by rank 0 (this is rank 1 of 2)" in rank1


def test_batch_sizes_are_logged_and_replicas_end_identical(launched):
    run = launched["runs"][0]
    log = (run / "train.log").read_text()
    assert "batch size 64 per device x 2 process(es) = global batch 128" in log
    summary = json.loads((run / "summary.json").read_text())
    assert summary["batch_size"] == {"per_device": 64, "processes": 2, "global": 128,
                                     "per_update": 128}
    assert summary["replicas_identical"] is True
    first, second = (digest(launched["logs"] / f"workerlog.{r}") for r in (0, 1))
    assert first == second


def test_sharded_evaluation_equals_single_process_evaluation(launched):
    run = launched["runs"][0]
    summary = json.loads((run / "summary.json").read_text())
    cfg = load_config(LENET, overrides(launched["base"] / "eval"))
    single = evaluate(cfg, str(run / "checkpoints" / "final.pdparams"))
    assert single["samples"] == 1827  # every eval digit once, none of the padding
    assert summary["final_eval"]["acc"] == pytest.approx(single["acc"], abs=1e-12)
    assert summary["final_eval"]["loss"] == pytest.approx(single["loss"], rel=1e-5)


def test_accuracy_in_line_with_one_process_at_the_same_global_batch(launched):
    two = json.loads((launched["runs"][0] / "summary.json").read_text())["final_eval"]["acc"]
    one = train(load_config(LENET, overrides(launched["base"] / "single"))).summary
    assert one["batch_size"]["global"] == 128 and one["batch_size"]["processes"] == 1
    assert two > 0.85
    assert abs(two - one["final_eval"]["acc"]) < 0.015, (two, one["final_eval"]["acc"])


def test_resume_under_the_launcher_repeats_the_run_exactly(launched):
    run = launched["runs"][0]
    uninterrupted = load_weights(run / "checkpoints" / "final.pdparams")
    expected_rows = rows(run)
    copy = launched["base"] / "resumed" / "lenet_mnist" / run.name
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "checkpoints" / "resume" / "epoch-0002")  # as if killed in epoch 2
    proc = launch(launched["cwd"], launched["base"] / "launcher-resume", "train.py",
                  overrides(launched["base"] / "resumed", **{"Global.checkpoints": copy}))
    assert proc.returncode == 0, proc.stdout[-3000:]
    resumed = load_weights(copy / "checkpoints" / "final.pdparams")
    assert rows(copy) == expected_rows
    for name, value in uninterrupted.items():
        np.testing.assert_array_equal(resumed[name], value, err_msg=name)


def test_global_batch_that_does_not_split_fails_on_every_rank(tmp_path):
    message = "global_batch_size: 129 does not split evenly over the 2 processes"
    items = overrides(tmp_path / "logs", **{"DataLoader.Train.global_batch_size": 129})
    for rank in (0, 1):  # each rank alone: exit 2 before it tries to reach the others
        proc, seconds = run_tool(tmp_path, rank, "train.py", *items)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert message in proc.stderr and "Traceback" not in proc.stderr
        assert seconds < 60
    # Under the real launcher the job fails with the message in the worker logs. The
    # launcher's own status is rank 0's: 2, or -15 when another rank failed first and the
    # launcher stopped rank 0 (Paddle's behaviour, timing-dependent).
    proc = launch(tmp_path, tmp_path / "launcher", "train.py", items)
    assert proc.returncode != 0
    logs = [p.read_text() for p in (tmp_path / "launcher").glob("workerlog.*")]
    assert any(message in text for text in logs)
    # no Python traceback; a rank the launcher stops with SIGTERM may print Paddle's own
    # "C++ Traceback ... Termination signal" report, which is the launcher's doing
    assert not any(re.search(r"^Traceback \(most recent call last\)", text, re.M)
                   for text in logs)
    assert not (tmp_path / "logs").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_rank(rank: int, port: int, **extra):
    """The environment the launcher gives rank `rank` of 2, with the master at `port`."""
    ends = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    return env(PADDLE_TRAINER_ID=str(rank), PADDLE_TRAINERS_NUM="2", PADDLE_DISTRI_BACKEND="gloo",
               PADDLE_MASTER=f"127.0.0.1:{port}", PADDLE_TRAINER_ENDPOINTS=ends,
               PADDLE_CURRENT_ENDPOINT=ends.split(",")[rank], **extra)


def run_tool(tmp_path, rank, tool="train.py", *items):
    args = [sys.executable, str(ROOT / "tools" / tool), "-c", str(LENET),
            "-o", f"Global.output_dir={tmp_path / 'logs'}", "-o", "Global.dist_timeout=3"]
    for item in items:
        args += ["-o", item]
    start = time.monotonic()
    proc = subprocess.run(args, env=as_rank(rank, free_port()), capture_output=True, text=True,
                          timeout=120)
    return proc, time.monotonic() - start


def test_rank_that_cannot_reach_the_master_fails_within_the_timeout(tmp_path):
    proc, seconds = run_tool(tmp_path, 1)
    assert proc.returncode == 2
    assert re.search(r"Rank 1 could not reach the master 127\.0\.0\.1:\d+ within 3 s",
                     proc.stderr), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert seconds < 60
    assert not (tmp_path / "logs").exists()


def test_master_whose_peers_never_come_fails_within_the_timeout(tmp_path):
    proc, seconds = run_tool(tmp_path, 0)
    assert proc.returncode != 0
    assert "rank 0 of 2: the process group did not form within 3 s" in proc.stderr
    assert seconds < 60
    assert not (tmp_path / "logs").exists()


@pytest.mark.skipif(paddle.device.is_compiled_with_cuda() and
                    paddle.device.cuda.device_count() > 0, reason="this machine has a GPU")
def test_gpu_config_on_a_cpu_only_machine_fails_before_waiting_for_peers(tmp_path):
    proc, seconds = run_tool(tmp_path, 1, "train.py", "Global.device=gpu")
    assert proc.returncode == 2
    assert "Global.device: gpu was asked for" in proc.stderr
    assert "could not reach the master" not in proc.stderr


def test_single_process_tools_refuse_to_run_under_the_launcher(tmp_path):
    proc, _ = run_tool(tmp_path, 0, "lr_find.py")
    assert proc.returncode == 2
    assert "tools/lr_find.py runs as a single process" in proc.stderr


def front_door(cwd, *args, timeout=180):
    """tools/launch.py: checks, then Paddle's launcher."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "launch.py"), *args], cwd=cwd,
                          env=env(), capture_output=True, text=True, timeout=timeout)
    return proc, time.monotonic() - start


def test_front_door_runs_the_launcher_for_a_sharded_evaluation(launched, tmp_path):
    weights = launched["runs"][0] / "checkpoints" / "final.pdparams"
    proc, _ = front_door(tmp_path, "--nproc_per_node", "2", "--log_dir", str(tmp_path / "l"),
                         str(ROOT / "tools" / "eval.py"), "-c", str(LENET),
                         *sum((["-o", o] for o in overrides(tmp_path / "out") +
                               [f"Global.pretrained_model={weights}"]), []))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "launch: 2 process(es) (2 per node x 1 node(s))" in proc.stderr
    summary = json.loads((launched["runs"][0] / "summary.json").read_text())
    rank0 = (tmp_path / "l" / "workerlog.0").read_text()
    assert f"acc: {summary['final_eval']['acc']:.4f}" in rank0
    assert "acc:" not in (tmp_path / "l" / "workerlog.1").read_text()  # rank 0 reports


@pytest.mark.parametrize("flags, message", [
    (["--nproc_per_node", "3"], "128 does not split evenly over the 3 processes"),
    (["--nnodes", "2"], "several nodes need --master"),
    (["--join-timeout", "soon"], "--join-timeout soon: expected a positive number"),
] + ([] if paddle.device.is_compiled_with_cuda() else
     [(["--devices", "0,1"], "--devices 0,1: this paddle build sees no GPU")]))
def test_front_door_rejects_flags_that_disagree(tmp_path, flags, message):
    proc, _ = front_door(tmp_path, *flags, str(ROOT / "tools" / "train.py"), "-c", str(LENET),
                         "-o", "DataLoader.Train.global_batch_size=128")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # the launcher never started


def test_front_door_ends_a_job_whose_nodes_never_join(tmp_path):
    proc, seconds = front_door(tmp_path, "--nnodes", "2", "--master", f"127.0.0.1:{free_port()}",
                               "--join-timeout", "4", str(ROOT / "tools" / "train.py"),
                               "-c", str(LENET), "-o", f"Global.output_dir={tmp_path / 'out'}")
    assert proc.returncode == 2
    assert "No training process started within 4 s" in proc.stderr
    assert seconds < 90
    assert not (tmp_path / "out").exists()


def test_batch_norm_statistics_are_averaged_so_replicas_and_evaluation_agree(tmp_path):
    arch = "{name: SmallCNN, class_num: 9, channels: [8, 16], batch_norm: true}"
    items = overrides(tmp_path / "logs", epochs=1, **{"Arch": arch})
    proc = launch(tmp_path, tmp_path / "launcher", "train.py", items)
    assert proc.returncode == 0, proc.stdout[-3000:]
    run = next((tmp_path / "logs" / "lenet_mnist").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    assert summary["replicas_identical"] is True
    assert digest(tmp_path / "launcher" / "workerlog.0") == \
        digest(tmp_path / "launcher" / "workerlog.1")
    single = evaluate(load_config(LENET, items), str(run / "checkpoints" / "final.pdparams"))
    assert summary["final_eval"]["acc"] == pytest.approx(single["acc"], abs=1e-12)
    assert summary["final_eval"]["loss"] == pytest.approx(single["loss"], rel=1e-5)


def test_two_nodes_join_through_the_master(tmp_path):
    """Two launchers with --nnodes 2 and one --master, as on two machines (here on one)."""
    master = f"127.0.0.1:{free_port()}"
    items = sum((["-o", o] for o in overrides(tmp_path / "out", epochs=1)), [])
    nodes = [subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "launch.py"), "--join-timeout", "120",
         "--nnodes", "2", "--master", master, "--nproc_per_node", "1",
         "--log_dir", str(tmp_path / f"node{n}"), str(ROOT / "tools" / "train.py"),
         "-c", str(LENET), *items], cwd=tmp_path, env=env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True) for n in (0, 1)]
    errors = [node.communicate(timeout=300)[1] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], errors
    runs = list((tmp_path / "out" / "lenet_mnist").iterdir())
    assert len(runs) == 1
    logs = [next((tmp_path / f"node{n}").glob("workerlog.*")) for n in (0, 1)]
    assert digest(logs[0]) == digest(logs[1])
    assert json.loads((runs[0] / "summary.json").read_text())["batch_size"]["processes"] == 2


COUNTING = '''
import math, sys
sys.path.insert(0, {root!r})
import paddle
from paddle_suite import load_config, train

class CountAllReduces(paddle.callbacks.Callback):
    """Counts the DataParallel reducer's rounds: one per backward that all-reduces."""
    def on_train_begin(self, logs=None):
        ddp, count = self.model._adapter.ddp_model, [0]
        real = ddp._reducer
        class Counting:
            def __getattr__(self, name):
                return getattr(real, name)
            def prepare_for_backward(self, *args):
                count[0] += 1
                return real.prepare_for_backward(*args)
        ddp._reducer, self.count = Counting(), count

counter = CountAllReduces()
result = train(load_config({lenet!r}, sys.argv[1:]), callbacks=[counter])
print("all-reduce rounds", counter.count[0])
'''


def test_accumulation_all_reduces_once_per_update(tmp_path):
    """accumulate_steps: 3 over 2 processes: gradients all-reduced once per optimizer update
    (the last batch of each group), not after every batch as hapi's fit alone does."""
    script = tmp_path / "count.py"
    script.write_text(COUNTING.format(root=str(ROOT), lenet=str(LENET)))
    items = overrides(tmp_path / "logs", epochs=2, **{
        "Optimizer.accumulate_steps": 3, "DataLoader.Train.global_batch_size": 64,
        "Callbacks.VisualDL": "false", "Report": "false"})
    args = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
            "--log_dir", str(tmp_path / "launcher"), str(script), *items]
    proc = subprocess.run(args, cwd=tmp_path, env=env(), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    log = (tmp_path / "launcher" / "workerlog.0").read_text()
    rounds = int(re.findall(r"all-reduce rounds (\d+)", log)[-1])
    steps = int(re.findall(r"steps/epoch (\d+)", log)[-1])
    updates = 2 * -(-steps // 3)  # the last, partial group updates too
    assert steps % 3 and rounds == updates, (rounds, steps)
