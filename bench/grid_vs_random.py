"""Grid vs random search at an equal budget of 9 trials, over several placements of the box.

    OMP_NUM_THREADS=1 python bench/grid_vs_random.py [--shifts -0.5 -0.25 0 0.25 0.5]
                                                     [--seeds 0 1] [--epochs 4]

The search is configs/search/lenet_lr_wd.yaml (LeNet, LR x L2 coefficient, both log-scale).
A grid's result depends on where its points fall relative to the optimum, which nobody knows
in advance; so the LR box [1e-4, 3e-2] is moved by 10**shift for each shift (the L2 box stays)
and both searches run in each box: the 3x3 grid (each range's ends and geometric midpoint,
as configs/search/lenet_grid.yaml) and random search under each study seed. Prints a
Markdown table of the best eval top-1 per box and the means over boxes.
"""
import argparse
import copy
import logging
import os
import sys
import tempfile
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import paddle  # noqa: F401

from paddle_suite.config.search_file import load_search  # noqa: E402
from paddle_suite.tuning.search import run_search  # noqa: E402

SEARCH = os.path.join(os.path.dirname(__file__), "..", "configs", "search", "lenet_lr_wd.yaml")


def box(search: dict, shift: float, epochs: int) -> dict:
    """The search with its LR range moved by 10**shift and trials of `epochs` epochs."""
    out = copy.deepcopy(search)
    lr = out["space"]["Optimizer.lr.learning_rate"]
    lr["low"], lr["high"] = lr["low"] * 10 ** shift, lr["high"] * 10 ** shift
    out["overrides"] = [o for o in out["overrides"] if not o.startswith("Global.epochs=")]
    out["overrides"].append(f"Global.epochs={epochs}")
    return out


def as_grid(search: dict) -> dict:
    out = copy.deepcopy(search)
    for spec in out["space"].values():
        low, high = spec["low"], spec["high"]
        spec.update(type="grid", values=[low, (low * high) ** 0.5, high])
    out["study"]["sampler"] = "grid"
    return out


def best(search: dict, name: str, folder: str) -> float:
    search["study"]["name"] = name
    return run_search(search, folder)["best_value"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shifts", type=float, nargs="+", default=[-0.5, -0.25, 0, 0.25, 0.5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--no-grid", action="store_true",
                        help="random searches only (more seeds for boxes already run)")
    args = parser.parse_args()
    logging.getLogger("paddle_suite").setLevel(logging.WARNING)
    base = load_search(SEARCH)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for i, shift in enumerate(args.shifts):
            search = box(base, shift, args.epochs)
            lr = search["space"]["Optimizer.lr.learning_rate"]
            row = {"shift": shift, "low": lr["low"], "high": lr["high"],
                   "grid": None if args.no_grid else best(as_grid(search), f"grid{i}", folder)}
            for seed in args.seeds:
                search["study"]["seed"] = seed
                row[seed] = best(copy.deepcopy(search), f"random{i}_{seed}", folder)
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    seeds = " | ".join(f"random seed {s}" for s in args.seeds)
    print(f"| LR box | grid 3x3 | {seeds} |\n| --- | --- |{' --- |' * len(args.seeds)}")
    for r in rows:
        randoms = " | ".join(f"{r[s]:.4f}" for s in args.seeds)
        grid = "-" if r["grid"] is None else f"{r['grid']:.4f}"
        print(f"| {r['low']:.2g} - {r['high']:.2g} | {grid} | {randoms} |")
    if args.no_grid:
        return
    grid_mean = sum(r["grid"] for r in rows) / len(rows)
    random_all = [r[s] for r in rows for s in args.seeds]
    wins = sum(r[s] >= r["grid"] for r in rows for s in args.seeds)
    print(f"\nmean over boxes: grid {grid_mean:.4f}, random {sum(random_all) / len(random_all):.4f}; "
          f"random >= grid in {wins} of {len(random_all)} (box, seed) pairs")


if __name__ == "__main__":
    main()
