"""Re-measure the README's headline figures on this machine: the default recipe's final and
best top-1 over several seeds (mean and range), its wall time, and (with --tests) how long
the README's test command takes. Prints a Markdown table with the CPU model and versions.

    python bench/reproduce.py                      # configs/lenet.yaml, seeds 1 2 3
    python bench/reproduce.py --seeds 1 2 3 4 5 --tests
    python bench/reproduce.py -c configs/lenet.yaml -o Optimizer.lr.learning_rate=3e-3

Runs go one after another (never side by side, so times are comparable) into a temporary
directory that is removed afterwards; `--json FILE` keeps the numbers.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def one_run(config: str, overrides: list[str], seed: int, out: Path) -> dict:
    args = [sys.executable, str(ROOT / "tools" / "train.py"), "-c", config,
            "-o", f"Global.seed={seed}", "-o", f"Global.output_dir={out}",
            "-o", f"Global.run_name=seed-{seed}", "-o", "Global.experiment=reproduce"]
    for item in overrides:
        args += ["-o", item]
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"seed {seed} failed:\n{proc.stderr[-2000:]}")
    summary = json.loads((out / "reproduce" / f"seed-{seed}" / "summary.json").read_text())
    return {"seed": seed, "final": summary["final_eval"]["acc"], "best": summary["best_value"],
            "best_epoch": summary["best_epoch"], "fit_seconds": summary["wall_seconds"],
            "command_seconds": round(seconds, 1)}


def time_tests() -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests"], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the test command failed:\n{proc.stdout[-2000:]}")
    return time.perf_counter() - start


def spread(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    values = [v * scale for v in values]
    return (f"{statistics.mean(values):.{digits}f} ({min(values):.{digits}f}-"
            f"{max(values):.{digits}f})")


def table(rows: list[dict]) -> str:
    lines = ["| seed | final top-1 % | best top-1 % (epoch) | fit s | command s |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['seed']} | {100 * r['final']:.2f} | {100 * r['best']:.2f} "
              f"({r['best_epoch']}) | {r['fit_seconds']:.1f} | {r['command_seconds']:.1f} |"
              for r in rows]
    lines.append(f"| mean (range) | **{spread([r['final'] for r in rows], 100)}** | "
                 f"{spread([r['best'] for r in rows], 100)} | "
                 f"{spread([r['fit_seconds'] for r in rows], digits=1)} | "
                 f"{spread([r['command_seconds'] for r in rows], digits=1)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", default=str(ROOT / "configs" / "lenet.yaml"))
    parser.add_argument("-o", "--override", action="append", default=[],
                        help="Section.key=value for every run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--tests", action="store_true", help="also time the test command")
    parser.add_argument("--json", help="write the numbers here")
    args = parser.parse_args(argv)
    import paddle
    with tempfile.TemporaryDirectory(prefix="reproduce-") as tmp:
        rows = [one_run(args.config, args.override, seed, Path(tmp)) for seed in args.seeds]
    report = {"config": args.config, "overrides": args.override, "cpu": cpu_model(),
              "python": platform.python_version(), "paddle": paddle.__version__, "runs": rows}
    if args.tests:
        report["test_seconds"] = round(time_tests(), 1)
    print(f"{args.config} {' '.join('-o ' + o for o in args.override)}".strip())
    print(f"CPU: {report['cpu']}; Python {report['python']}, paddle {report['paddle']}\n")
    print(table(rows))
    if args.tests:
        print(f"\n`python -m pytest -q tests`: {report['test_seconds']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
