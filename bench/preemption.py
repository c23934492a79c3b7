"""Kill training at random steps and check the resumed run ends bit-identical.

For each set-up, one uninterrupted run, then the same command (`Global.resume: auto`,
`Global.save_steps: 1`) started again and again, each time killed with SIGKILL after a
random number of training steps (drawn from --seed), until it completes; its final weights
must equal the uninterrupted run's, tensor for tensor, and so must every epoch's train loss
and eval accuracy in metrics.jsonl.

    python bench/preemption.py --kills 20            # the figure in docs/reliability.md
    python bench/preemption.py --kills 3 --setups default

Set-ups: `default` (LeNet's recipe: LR stepped per update), `epoch_schedule` (a multi-step
decay stepped per epoch, accumulation over 2 batches), `workers` (`num_workers: 2`). Digits 0 and
1 of the bundled MNIST subset, batch 32, 3 epochs.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = ["Global.epochs=3", "DataLoader.classes=[0,1]", "Arch.class_num=2", "Metric.topk=[1]",
        "DataLoader.Train.batch_size=32", "Global.log_interval=1", "Callbacks.VisualDL=false",
        "Report=false", "Global.resume=auto"]
SETUPS = {
    "default": [],
    "epoch_schedule": ["Optimizer.lr={name: MultiStep, learning_rate: 0.002, "
                       "milestones: [1, 2], step_on: epoch}", "Optimizer.accumulate_steps=2",
                       "DataLoader.Train.batch_size=30"],  # 57 batches: a partial last group
    "workers": ["DataLoader.Train.num_workers=2"],
}


def command(out: Path, setup: str, save_steps: bool) -> list[str]:
    overrides = BASE + SETUPS[setup] + [f"Global.output_dir={out}"] + \
        (["Global.save_steps=1"] if save_steps else [])
    return [sys.executable, str(ROOT / "tools" / "train.py"), "-c",
            str(ROOT / "configs" / "lenet.yaml")] + [a for o in overrides for a in ("-o", o)]


def run_killed(argv: list[str], steps: int) -> int | None:
    """Start `argv`; SIGKILL it once it has logged `steps` more training steps. The exit
    status when it ended by itself first, else None."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, env=env)
    seen = 0
    for line in proc.stderr:
        if " step " in line and line.startswith("epoch "):
            seen += 1
            if seen >= steps:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return None
    return proc.wait()


def weights_equal(a: Path, b: Path) -> bool:
    import numpy as np

    from paddle_suite.runs.checkpoint import load_weights
    x, y = load_weights(a), load_weights(b)
    return x.keys() == y.keys() and all(np.array_equal(np.asarray(x[k]), np.asarray(y[k]))
                                        for k in x)


def rows(run_dir: Path) -> list:
    return [(r["epoch"], r.get("train_loss"), r.get("eval_acc"))
            for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())]


def newest_run(folder: Path) -> Path:
    """The run the command finished (a kill before a run's first checkpoint leaves a run
    with nothing to continue: the next start makes a new one)."""
    return max(p for p in (folder / "lenet_mnist").iterdir() if p.is_dir())


def check_setup(setup: str, kills: int, rng: random.Random, work: Path) -> dict:
    """Kill one run `kills` times at random steps; compare it with an uninterrupted run."""
    ref = subprocess.run(command(work / "ref", setup, False), capture_output=True, text=True)
    if ref.returncode:
        raise RuntimeError(ref.stderr[-2000:])
    argv, done, started = command(work / "cut", setup, True), 0, time.time()
    while done < kills:
        if run_killed(argv, rng.randint(1, 20)) is not None:
            break  # it finished before the kill: the remaining kills go to the next set-up
        done += 1
    final = subprocess.run(argv, capture_output=True, text=True)
    if final.returncode:
        raise RuntimeError(final.stderr[-2000:])
    a, b = newest_run(work / "ref"), newest_run(work / "cut")
    return {"setup": setup, "kills": done, "seconds": round(time.time() - started, 1),
            "weights_identical": weights_equal(a / "checkpoints" / "final.pdparams",
                                               b / "checkpoints" / "final.pdparams"),
            "metrics_identical": rows(a) == rows(b)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs over all set-ups")
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    rng, results = random.Random(args.seed), []
    share = [args.kills // len(args.setups) + (i < args.kills % len(args.setups))
             for i in range(len(args.setups))]
    with tempfile.TemporaryDirectory() as tmp:
        for setup, kills in zip(args.setups, share):
            results.append(check_setup(setup, kills, rng, Path(tmp) / setup))
            print(json.dumps(results[-1]), flush=True)
    total = sum(r["kills"] for r in results)
    good = all(r["weights_identical"] and r["metrics_identical"] for r in results)
    print(f"{total} SIGKILLs at random steps; every resumed run bit-identical: {good}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
