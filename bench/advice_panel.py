"""Is the suite's tuning advice right? Two panels on the bundled MNIST subset.

    OMP_NUM_THREADS=2 python bench/advice_panel.py [--part lr|cases|all] [--epochs 2]

1. LR finder against a grid (`--part lr`): for each set-up (LeNet/Adam, LeNet/SGD with
   momentum, MLP/Adam; MLP/SGD with momentum held out), the LR range test's suggestion by
   each rule (descent, valley, steep, minimum, slide) beside the best constant LR of a half-decade grid (each LR trained `--epochs`
   epochs at constant LR from the same seed; best final eval top-1). The error of a rule is
   its suggestion / the grid's best, as a factor (1.0 = exact; within 3x passes).
2. Diagnosis against known causes (`--part cases`): deliberately broken and healthy set-ups,
   each with the verdict a careful engineer would give; `tools/sanity_check.py`'s checks
   and the run summary's diagnosis must name it.

Prints Markdown tables (copied into BENCHMARKS.md) and exits 1 if any expectation fails.
"""
import argparse
import json
import logging
import math
import os
import sys
import tempfile
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import paddle  # noqa: F401

from paddle_suite import load_config, train  # noqa: E402
from paddle_suite.callbacks.nan_guard import TrainingDiverged  # noqa: E402
from paddle_suite.tuning.lr_find import lr_find  # noqa: E402
from paddle_suite.tuning.lr_range_test import RULES  # noqa: E402
from paddle_suite.tuning.sanity import run_checks  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LENET = os.path.join(ROOT, "configs", "lenet.yaml")
QUIET = ["Callbacks.VisualDL=false", "Global.log_interval=100000"]
SETUPS = {
    "LeNet / Adam": [],
    "LeNet / SGD momentum 0.9": ["Optimizer.name=Momentum", "Optimizer.momentum=0.9"],
    "MLP / Adam": ["Arch.name=MLP"],
    # not used when the default rule and its 0.8 were chosen: a check on a fourth set-up
    "MLP / SGD momentum 0.9 (held out)": ["Arch.name=MLP", "Optimizer.name=Momentum",
                                          "Optimizer.momentum=0.9"],
    # normalised networks and decoupled decay, where the sweep's loss stays bounded
    "batch-norm CNN / AdamW": ["Arch={name: SmallCNN, class_num: 10, batch_norm: true}",
                               "Optimizer={name: AdamW, weight_decay: 0.01, lr: {name: Cosine, "
                               "learning_rate: 0.002}}"],
    "LeNet / AdamW": ["Optimizer={name: AdamW, weight_decay: 0.01, lr: {name: Cosine, "
                      "learning_rate: 0.002}}"],
    "MobileNetV1_x0_25 / SGD momentum 0.9": [
        "Arch={name: MobileNetV1_x0_25, class_num: 10, in_channels: 1}",
        "Optimizer.name=Momentum", "Optimizer.momentum=0.9"],
    # run only after the checked suggestion (lr_find.CHECK_FACTORS, lowest loss) was chosen
    "batch-norm CNN / SGD momentum 0.9 (held out)": [
        "Arch={name: SmallCNN, class_num: 10, batch_norm: true}", "Optimizer.name=Momentum",
        "Optimizer.momentum=0.9"],
    "MLP / AdamW (held out)": ["Arch.name=MLP", "Optimizer={name: AdamW, weight_decay: 0.01, "
                               "lr: {name: Cosine, learning_rate: 0.002}}"],
}
GRID = [10 ** (e / 2) for e in range(-9, 0)]   # 3.2e-5 ... 3.2e-1, half-decade steps


def _config(out: str, extra: list[str]):
    return load_config(LENET, [f"Global.output_dir={out}", *QUIET, *extra])


def grid_best(extra: list[str], epochs: int, out: str) -> tuple[float, list]:
    """(best LR, [(lr, final eval top-1)]) over GRID at constant LR."""
    scores = []
    for lr in GRID:
        cfg = _config(out, [*extra, f"Global.epochs={epochs}",
                            f"Optimizer.lr={{name: Constant, learning_rate: {lr}}}"])
        try:
            acc = train(cfg).history[-1].get("eval_acc", float("nan"))
        except TrainingDiverged:  # the NaN guard stopped it: as bad as chance
            acc = 0.0
        scores.append((lr, acc if math.isfinite(acc) else 0.0))
    return max(scores, key=lambda s: s[1])[0], scores


def lr_panel(epochs: int, out: str, setups: list[str], cache: str | None = None) -> bool:
    """Each set-up's grid (read from `cache` when it holds it, else trained and added) and
    lr_find's suggestions: every sweep rule's, and the checked one (the suggestion the
    tool prints: the sweep's, a third or a tenth of it, by 100-update runs)."""
    grids = json.load(open(cache)) if cache and os.path.exists(cache) else {}
    rows, ok = [], True
    for name, extra in SETUPS.items():
        if setups and not any(s.lower() in name.lower() for s in setups):
            continue
        key = f"{name} | {epochs} epochs"
        if key not in grids:
            grids[key] = grid_best(extra, epochs, out)
            if cache:
                json.dump(grids, open(cache, "w"), indent=1)
        best, scores = grids[key]
        found = lr_find(_config(out, extra))
        cells = []
        for lr in [*(found["suggestions"][rule] for rule in RULES), found["suggested_lr"]]:
            factor = max(lr / best, best / lr) if lr else math.inf
            cells.append(f"{lr:.2e} ({factor:.1f}x)" if lr else "none")
        checked = found["suggested_lr"]
        ok &= bool(checked) and max(checked / best, best / checked) <= 3
        grid = ", ".join(f"{lr:.0e}: {acc:.3f}" for lr, acc in scores)
        rows.append(f"| {name} | {best:.1e} | " + " | ".join(cells) + f" | {grid} |")
    print(f"| set-up | grid's best LR ({epochs} epochs, constant) | "
          + " | ".join(RULES) + " | checked (suggested) | grid (LR: eval top-1) |")
    print("|" + " --- |" * (len(RULES) + 4))
    print("\n".join(rows))
    return ok


# name: (overrides, expected diagnosis case, expected failing sanity check or None); for the
# LR cases the failing check's advice must also name the direction ("is too high/low")
CASES = {
    "healthy (default recipe, 8 epochs)": (["Global.epochs=8"], "healthy", None),
    "LR far too high (Adam 0.1)": (["Global.epochs=6", "Optimizer.lr.learning_rate=0.1"],
                                   "LR too high", "overfit a tiny subset"),
    "LR far too low (Adam 1e-6)": (["Global.epochs=6", "Optimizer.lr.learning_rate=1.0e-6"],
                                   "LR too low", "overfit a tiny subset"),
    "all-zero init": (["Global.epochs=6", "Arch.init={name: zeros}"], "not learning",
                      "symmetric initialisation"),
    "constant init": (["Global.epochs=6", "Arch.init={name: constant, value: 0.05}"],
                      "not learning", "symmetric initialisation"),
    "no regularisation, 500 training images": (
        ["Global.epochs=30", "Loss.label_smoothing=0", "Optimizer.regularizer=null",
         "DataLoader.Train.transforms=[{ToCHW: {}}, {Normalize: {mean: [0.5], std: [0.5]}}]",
         "DataLoader.Train.max_samples=500", "Optimizer.lr={name: Constant, learning_rate: 0.002}"],
        "overfitting", None),
    "LR decayed too early (step /10 at epoch 1)": (
        ["Global.epochs=8", "Optimizer.lr={name: Step, learning_rate: 0.0005, step_size: 1, "
                            "gamma: 0.1}"], "LR decayed too early", None),
    "plateau at a high constant LR (MLP, Adam 1e-2, no augmentation)": (
        ["Global.epochs=20", "Arch.name=MLP", "Optimizer.lr={name: Constant, learning_rate: 0.01}",
         "DataLoader.Train.transforms=[{ToCHW: {}}, {Normalize: {mean: [0.5], std: [0.5]}}]"],
        "plateau", None),
    "collapse at a high LR (SGD momentum 0.9, LR 0.2)": (
        ["Global.epochs=6", "Optimizer.name=Momentum", "Optimizer.momentum=0.9",
         "Optimizer.lr={name: Constant, learning_rate: 0.2}"], "LR too high",
        "overfit a tiny subset"),
    # added with the weights' records (weight_norm, update_ratio); both end with the same
    # scores for every image at chance and a loss at ln 10, the old rules' "LR too high"
    "collapse under heavy L2 (0.5, the recipe's Adam 2e-3, 10 epochs)": (
        ["Global.epochs=10", "Optimizer.regularizer={name: L2, coeff: 0.5}"],
        "weight decay too strong", None),
    "collapse of a batch-norm CNN under AdamW at LR 3.0": (
        ["Global.epochs=4", "Arch={name: SmallCNN, class_num: 10, batch_norm: true}",
         "Optimizer={name: AdamW, weight_decay: 0.01, lr: {name: Constant, "
         "learning_rate: 3.0}}"], "LR too high", "overfit a tiny subset"),
}


def cases_panel(out: str, only: list[str]) -> bool:
    ok = True
    print("| set-up | expected | run summary's diagnosis | sanity checks not passing | |")
    print("| --- | --- | --- | --- | --- |")
    for name, (extra, case, check) in CASES.items():
        if only and not any(s.lower() in name.lower() for s in only):
            continue
        try:
            result = train(_config(out, extra))
            cases = [f["case"] for f in result.summary["diagnosis"]]
        except TrainingDiverged:  # the NaN guard's own message names the LR
            cases = ["LR too high"]
        checks = run_checks(_config(out, extra))
        flagged = [c["check"] for c in checks if c["verdict"] not in ("pass", "skip")]
        advice = " ".join(c["advice"] for c in checks if c["check"] == check)
        way = {"LR too high": "is too high", "LR too low": "is too low"}.get(case)
        right = case in cases[:1] and (check in flagged if check else not flagged) and \
            (way is None or way in advice)
        ok &= right
        said = f" ({way})" if way and way in advice else ""
        print(f"| {name} | {case}; {check or 'all pass'} | {', '.join(cases)} | "
              f"{', '.join(flagged) or 'all pass'}{said} | {'ok' if right else 'WRONG'} |")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=("lr", "cases", "all"), default="all")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per grid point")
    parser.add_argument("--grid-cache", help="a JSON file keeping each set-up's grid results "
                        "between runs (the grid is the slow part)")
    parser.add_argument("--setups", nargs="*", default=[],
                        help="only set-ups (LR part) or cases whose name contains one of these")
    args = parser.parse_args()
    logging.getLogger("paddle_suite").setLevel(logging.WARNING)
    ok = True
    with tempfile.TemporaryDirectory() as out:
        if args.part in ("lr", "all"):
            ok &= lr_panel(args.epochs, out, args.setups, args.grid_cache)
        if args.part in ("cases", "all"):
            print()
            ok &= cases_panel(out, args.setups)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
