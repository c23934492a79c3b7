"""One process vs two data-parallel processes (paddle.distributed.launch, gloo on CPU) on
configs/lenet.yaml at the same global batch size, side by side, several seeds:

    python bench/data_parallel.py --seeds 42 43 44 [--epochs 25] [--global-batch 64]

Both arms run tools/train.py in a subprocess with the same config and overrides; the only
difference is the launcher. Prints a Markdown table of final eval accuracy, wall time
(summary.json's wall_seconds: training and evaluation, start-up excluded) and train
samples/s per seed and arm, the scaling efficiency, and the time of one all-reduce of an
update's gradients between the 2 processes (timed alone, 500 times).
On a 2-core machine the two processes share the cores the single process uses (each gets
one thread), so this measures correctness of the data-parallel path, not a speed-up.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LENET_PARAMETERS = 61_610  # paddle.vision's LeNet with 10 classes: one update's gradients


def run(arm: str, seed: int, args, base: Path) -> dict:
    out = base / f"{arm}-{seed}"
    items = [f"Global.output_dir={out}", f"Global.seed={seed}", f"Global.epochs={args.epochs}",
             f"DataLoader.Train.global_batch_size={args.global_batch}",
             "Callbacks.VisualDL=false"]
    script = [str(ROOT / "tools" / "train.py"), "-c", str(ROOT / "configs" / "lenet.yaml")]
    script += sum((["-o", i] for i in items), [])
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if arm == "1 process":
        cmd = [sys.executable, *script]
    else:
        env["OMP_NUM_THREADS"] = "1"
        cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
               "--log_dir", str(base / f"launch-{seed}"), *script]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    summary = json.loads(next(out.glob("*/*/summary.json")).read_text())
    return {"acc": summary["final_eval"]["acc"], "seconds": summary["wall_seconds"],
            "samples_per_second": summary["train_samples_per_second"]}


ALL_REDUCE = """
import sys, time
import paddle, paddle.distributed as dist
dist.init_parallel_env()
grads = paddle.randn([int(sys.argv[1])])
for _ in range(20):
    dist.all_reduce(grads)
start = time.perf_counter()
for _ in range(int(sys.argv[2])):
    dist.all_reduce(grads)
print("all-reduce ms", 1000 * (time.perf_counter() - start) / int(sys.argv[2]), flush=True)
"""


def all_reduce_ms(floats: int, repeats: int, base: Path) -> float:
    """Milliseconds per all-reduce of `floats` float32 values between 2 processes (gloo)."""
    script = base / "all_reduce.py"
    script.write_text(ALL_REDUCE)
    logs = base / "launch-all-reduce"
    subprocess.run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
                    "--log_dir", str(logs), str(script), str(floats), str(repeats)],
                   env={**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"},
                   check=True, capture_output=True)
    text = (logs / "workerlog.0").read_text()
    return float(text.split("all-reduce ms")[-1].split()[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--global-batch", type=int, default=64)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for arm in ("1 process", "2 processes"):
                rows.append({"seed": seed, "arm": arm, **run(arm, seed, args, Path(tmp))})
                print(rows[-1], file=sys.stderr, flush=True)
        reduce_ms = all_reduce_ms(LENET_PARAMETERS, 500, Path(tmp))
    print("| seed | arm | final eval acc | wall s | train samples/s |\n| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['seed']} | {r['arm']} | {r['acc']:.4f} | {r['seconds']:.1f} | "
              f"{r['samples_per_second']:.1f} |")
    speed = {}
    for arm in ("1 process", "2 processes"):
        accs = [r["acc"] for r in rows if r["arm"] == arm]
        speed[arm] = sum(r["samples_per_second"] for r in rows if r["arm"] == arm) / len(accs)
        print(f"| mean | {arm} | {sum(accs) / len(accs):.4f} | | {speed[arm]:.1f} |")
    update_ms = 1000 * args.global_batch / speed["2 processes"]
    print(f"\nscaling efficiency (2-process samples/s over twice the 1-process figure): "
          f"{speed['2 processes'] / (2 * speed['1 process']):.2f}")
    print(f"all-reduce of LeNet's {LENET_PARAMETERS:,} gradients between 2 processes: "
          f"{reduce_ms:.3f} ms; a 2-process update takes {update_ms:.1f} ms "
          f"({100 * reduce_ms / update_ms:.1f}% of it)")


if __name__ == "__main__":
    main()
