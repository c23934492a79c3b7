"""Check mixed precision on a machine with a GPU: float32 vs float16 vs bfloat16 on the
default recipe (top-1, samples/s, updates the loss scaler skipped), exact resume of a float16
run (scaler state included), and float32 weights in its checkpoint and export.

    python bench/amp_check.py                    # 5 epochs each, seed 1
    python bench/amp_check.py --epochs 25 --seed 2
    python bench/amp_check.py --device cpu --epochs 2   # the harness alone: float32 arms

Needs paddlepaddle-gpu and a CUDA GPU (bfloat16: compute capability 8.0+, else skipped).
Prints a Markdown table; exits 1 when a check fails, 2 when there is no GPU. On a CPU the
suite refuses `AMP.use_amp` (paddle's autocast does nothing there), and so does this script.
"""
from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def command(out: Path, name: str, overrides: list[str]) -> list[str]:
    args = [sys.executable, str(ROOT / "tools" / "train.py"), "-c", str(ROOT / "configs" /
            "lenet.yaml"), "-o", f"Global.output_dir={out}", "-o", "Global.experiment=amp",
            "-o", f"Global.run_name={name}",
            "-o", "Callbacks.VisualDL=false"]
    for item in overrides:
        args += ["-o", item]
    return args


def killed_after(out: Path, name: str, overrides: list[str], epoch: int) -> Path:
    """Start a run and SIGKILL it once its resume checkpoint for `epoch` is written."""
    run = out / "amp" / name
    proc = subprocess.Popen(command(out, name, overrides), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while not (run / "checkpoints" / "resume" / f"epoch-{epoch:04d}").exists():
        if proc.poll() is not None:
            raise SystemExit(f"{name} ended before epoch {epoch} (status {proc.returncode})")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return run


def train(out: Path, name: str, overrides: list[str]) -> dict:
    proc = subprocess.run(command(out, name, overrides), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-2000:]}")
    run = out / "amp" / name
    summary = json.loads((run / "summary.json").read_text())
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    speeds = [r["samples_per_second"] for r in rows if "samples_per_second" in r]
    return {"run": run, "acc": summary["final_eval"]["acc"], "loss": summary["final_eval"]["loss"],
            "samples_per_second": sorted(speeds)[len(speeds) // 2] if speeds else None,
            "amp": summary.get("amp")}


def max_weight_difference(a: Path, b: Path) -> tuple[float, set]:
    import numpy as np
    import paddle
    left = paddle.load(str(a / "checkpoints" / "final.pdparams"))
    right = paddle.load(str(b / "checkpoints" / "final.pdparams"))
    dtypes = {str(v.dtype) for v in left.values()}
    return max(float(np.abs(left[k].numpy() - right[k].numpy()).max()) for k in left), dtypes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", choices=("gpu", "cpu"), default="gpu",
                        help="cpu: check the harness with float32 arms only")
    parser.add_argument("-o", dest="overrides", action="append", default=[],
                        help="a config override for every run (Section.key=value)")
    args = parser.parse_args()
    import paddle
    gpu = args.device == "gpu"
    if gpu and not paddle.device.cuda.device_count():
        print("error: no CUDA GPU visible to paddle (install paddlepaddle-gpu; README, GPU).",
              file=sys.stderr)
        return 2
    common = [*args.overrides, f"Global.epochs={args.epochs}", f"Global.seed={args.seed}",
              f"Global.device={args.device}"]
    half_precision = ["AMP.use_amp=true"] if gpu else []
    half = "float16" if gpu else "float32-again"  # on a CPU: the harness, twice float32
    arms = {"float32": [], half: half_precision}
    if gpu and paddle.amp.is_bfloat16_supported():
        arms["bfloat16"] = ["AMP.use_amp=true", "AMP.dtype=bfloat16"]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        results = {name: train(out, name, common + extra) for name, extra in arms.items()}
        where = paddle.device.cuda.get_device_name() if gpu else "CPU (no AMP: harness check)"
        print(f"device: {where}, paddle {paddle.__version__}, "
              f"{args.epochs} epochs, seed {args.seed}\n")
        print("| arm | final top-1 % | samples/s (median epoch) | skipped updates | final scale |")
        print("| --- | --- | --- | --- | --- |")
        for name, r in results.items():
            amp = r["amp"] or {}
            print(f"| {name} | {100 * r['acc']:.2f} | {r['samples_per_second']} | "
                  f"{amp.get('skipped_updates', '-')} | {amp.get('final_loss_scale', '-')} |")
            if r["acc"] < results["float32"]["acc"] - 0.005:
                failures.append(f"{name} top-1 more than 0.5 points below float32")
        middle = args.epochs // 2 or 1
        killed = killed_after(out, "resumed", common + half_precision, middle)
        resumed = train(out, "resumed", common + half_precision +
                        [f"Global.checkpoints={killed}"])
        diff, dtypes = max_weight_difference(resumed["run"], results[half]["run"])
        print(f"\n{half}, killed after epoch {middle} and resumed vs straight through: "
              f"max |weight difference| {diff:.3g}; checkpoint dtypes {sorted(dtypes)}")
        if dtypes != {"paddle.float32"}:
            failures.append(f"checkpoint weights are {dtypes}, not float32")
        if diff > 1e-3:
            failures.append("the resumed float16 run drifted from the straight one")
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
