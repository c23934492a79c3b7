"""Cost at the shapes users grow into: listing a million files, the memory forked
DataLoader workers add for the path list, and a 1000-class run with its whole report.

    python bench/scale.py --files 10000 100000 1000000     # listing and worker memory
    python bench/scale.py --classes 1000 --per-class 20    # a 1000-class run, VisualDL on

Synthetic ImageFolders are written under --workdir (default: a temporary folder, removed
afterwards). Each phase runs in a fresh process; times are wall seconds, memory is the
process's peak resident set, bytes are what the run directory holds. Prints Markdown.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from synthetic import write_folders  # noqa: E402

LIST = """
import os, sys, time, resource
start = time.perf_counter()
from paddle_suite.data.files import image_folder
imported = time.perf_counter()
data = image_folder(sys.argv[1])
done = time.perf_counter()
print(len(data), round(done - imported, 3), round(done - start, 3),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

WORKERS = """
import os, sys
from paddle_suite.data.files import image_folder
data = image_folder(sys.argv[1])
paths = data.paths if sys.argv[2] == "table" else list(data.paths)

def private_dirty_kb():
    for line in open("/proc/self/smaps_rollup"):
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1])

growth = []
for worker in range(2):
    read, write = os.pipe()
    if os.fork() == 0:  # a DataLoader worker reading every path once, as over an epoch
        before = private_dirty_kb()
        total = sum(len(paths[i]) for i in range(worker, len(paths), 2))
        os.write(write, str(private_dirty_kb() - before).encode())
        os._exit(0)
    os.close(write)
    growth.append(int(os.read(read, 64)))
    os.wait()
print(max(growth))
"""


def python(code: str, *args) -> str:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "GLOG_minloglevel": "2"}
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, check=True, env=env).stdout.split()


def listing_rows(workdir: Path, sizes: list[int]) -> list[str]:
    rows = ["| files | write s | first listing s | cached listing s (whole start) | "
            "peak MB | worker growth MB: list of str | PathTable |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    cache = workdir / "cache"
    os.environ["XDG_CACHE_HOME"] = str(cache)
    for files in sizes:
        root = workdir / f"files{files}"
        start = time.perf_counter()
        write_folders(root, classes=1000, per_class=files // 1000, size=8)
        written = time.perf_counter() - start
        first = python(LIST, root / "train")
        second = python(LIST, root / "train")
        as_list = python(WORKERS, root / "train", "list")[0]
        as_table = python(WORKERS, root / "train", "table")[0]
        rows.append(f"| {files:,} | {written:.1f} | {float(first[1]):.2f} | {float(second[1]):.2f} "
                    f"({float(second[2]):.2f}) | {int(second[3]) / 1024:.0f} | "
                    f"{int(as_list) / 1024:.1f} | {int(as_table) / 1024:.1f} |")
    return rows


def run_row(workdir: Path, classes: int, per_class: int) -> list[str]:
    data = workdir / f"classes{classes}"
    write_folders(data, classes, per_class, eval_per_class=5)
    out = workdir / "logs"
    overrides = {"Global.output_dir": out, "Global.epochs": 1, "Global.experiment": "scale",
                 "Arch.class_num": classes,
                 "DataLoader.Train.dataset": f"{{name: ImageFolder, root: {data}/train}}",
                 "DataLoader.Eval.dataset": f"{{name: ImageFolder, root: {data}/eval}}"}
    argv = [sys.executable, str(ROOT / "tools" / "train.py"), "-c",
            str(ROOT / "configs" / "lenet.yaml")]
    argv += [a for k, v in overrides.items() for a in ("-o", f"{k}={v}")]
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    (run,) = (out / "scale").iterdir()
    sizes = {p.name: p.stat().st_size for p in run.rglob("*") if p.is_file()}
    return ["| classes | train / eval images | whole command s | peak MB | run dir MB | "
            "VisualDL log MB | confusion_matrix.png KB |", "| --- | --- | --- | --- | --- | --- | --- |",
            f"| {classes} | {classes * per_class:,} / {classes * 5:,} | {wall:.1f} | {peak:.0f} | "
            f"{sum(sizes.values()) / 2**20:.1f} | {sizes['vdlrecords.run.log'] / 2**20:.1f} | "
            f"{sizes['confusion_matrix.png'] / 1024:.0f} |"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, nargs="*", default=[])
    parser.add_argument("--classes", type=int)
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--workdir", help="where the synthetic data go (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as work:
        rows = listing_rows(Path(work), args.files) if args.files else []
        if args.classes:
            rows += [""] + run_row(Path(work), args.classes, args.per_class)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
