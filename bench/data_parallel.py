"""One process vs two data-parallel processes (paddle.distributed.launch, gloo on CPU) on
configs/lenet.yaml at the same global batch size, side by side, several seeds:

    python bench/data_parallel.py --seeds 42 43 44 [--epochs 25] [--global-batch 64]

Both arms run tools/train.py in a subprocess with the same config and overrides; the only
difference is the launcher. Prints a Markdown table of final eval accuracy and wall time
(summary.json's wall_seconds: training and evaluation, start-up excluded) per seed and arm.
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
    return {"acc": summary["final_eval"]["acc"], "seconds": summary["wall_seconds"]}


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
    print(f"| seed | arm | final eval acc | wall s |\n| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['seed']} | {r['arm']} | {r['acc']:.4f} | {r['seconds']:.1f} |")
    for arm in ("1 process", "2 processes"):
        accs = [r["acc"] for r in rows if r["arm"] == arm]
        print(f"| mean | {arm} | {sum(accs) / len(accs):.4f} | |")


if __name__ == "__main__":
    main()
