"""Bytes a training run writes per epoch: LeNet on digits 0 and 1, run for 2 and then 3
epochs in fresh directories; the difference of the bytes written (the process's `wchar` in
/proc/self/io: checkpoints, logs, VisualDL records) is one epoch's worth.

    python bench/epoch_bytes.py                      # this checkout
    python bench/epoch_bytes.py --tree /path/to/another/checkout -o Callbacks.VisualDL=false

Each measurement runs in its own process (Linux only: /proc).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["DataLoader.classes=[0,1]", "Arch.class_num=2", "Metric.topk=[1]"]
CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from paddle_suite import load_config, train
cfg = load_config(sys.argv[1] + "/configs/lenet.yaml", sys.argv[2:])
def written():
    lines = open("/proc/self/io").read().splitlines()
    return int(dict(line.split(": ") for line in lines)["wchar"])
before = written()
train(cfg)
print(written() - before)
"""


def bytes_written(tree: Path, epochs: int, overrides: list[str]) -> int:
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(tree), f"Global.epochs={epochs}",
                               f"Global.output_dir={out}", *SMALL, *overrides],
                              capture_output=True, text=True, cwd=out)
    if proc.returncode != 0:
        raise SystemExit(f"the {epochs}-epoch run failed:\n{proc.stderr[-2000:]}")
    return int(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("-o", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    two, three = (bytes_written(args.tree, e, args.overrides) for e in (2, 3))
    print(f"{args.tree}: 2 epochs {two:,} bytes, 3 epochs {three:,} bytes; "
          f"per epoch {three - two:,} bytes")


if __name__ == "__main__":
    main()
