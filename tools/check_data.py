"""Look at the data before training:
python tools/check_data.py -c configs/lenet.yaml [--run logs/lenet_mnist/<run-id>] [--out DIR]

Reads every sample of the train and eval sets once and reports unreadable files, the mix of
image sizes and channels, class counts (class_counts.png), a labelled row of samples per
class (samples.png), exact duplicates within a set and across train and eval (leakage),
duplicates whose labels disagree, and the likely mislabelled samples: those that
cross-validated predictions (a model that did not see them) confidently put in another
class, on pixel thumbnails or, with --run, on that trained network's embeddings
(label_issues.png). Everything also goes to data_check.json. Exit status 1 when something
should be fixed before training (unreadable files, leakage, disagreeing duplicates)."""
import sys
from functools import partial

from paddle_suite.cli import base_parser, quiet_paddle, run, run_path, single_process

SHOWN = 5  # examples printed per finding


def main(argv=None):
    parser = base_parser(__doc__)
    parser.add_argument("--run", help="a trained run directory: judge labels on its network's "
                        "embeddings instead of pixel thumbnails")
    parser.add_argument("--out", help="output directory (default: a new "
                        "<output_dir>/<experiment>_data_check/<time>)")
    parser.add_argument("--suspects", type=int, default=16,
                        help="likely mislabelled samples to draw (default: 16)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="read only N samples of each set (stratified by class, seeded)")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes that read the images (default: 2)")
    args = parser.parse_args(argv)
    single_process("tools/check_data.py")
    quiet_paddle()
    from paddle_suite import load_config
    from paddle_suite.config.sections import data_spec
    from paddle_suite.data.check import check_data
    from paddle_suite.lifecycle.predictions import embed_views
    from paddle_suite.runs.rundir import create_run_dir
    cfg = load_config(args.config, args.override)
    run = run_path(args.run)
    embed = None if run is None else partial(embed_views, run_dir=run)
    glob = cfg["Global"]
    out = args.out or create_run_dir(glob["output_dir"], f"{glob['experiment']}_data_check")
    found = check_data(data_spec(cfg), out, embed, args.suspects, args.sample, args.workers)
    for name, info in found["sets"].items():
        shapes = ", ".join(f"{k} x{v}" for k, v in info["shapes"].items())
        counts = info["class_counts"]
        read = found["samples_read"][name]
        sampled = f" ({read} read: --sample)" if read < info["samples"] else ""
        print(f"{name}: {info['samples']} samples{sampled}; sizes (HxWxC) {shapes}; classes "
              f"{len(counts)}, {min(counts.values())} to {max(counts.values())} per class")
        for bad in info["unreadable"][:SHOWN]:
            print(f"  unreadable: {bad['problem']}")
        if len(info["unreadable"]) > SHOWN:
            print(f"  ... {len(info['unreadable'])} unreadable in all")
    dups = found["duplicates"]
    for name, groups in dups["within"].items():
        print(f"{name}: {len(groups)} group(s) of identical images, e.g. "
              + "; ".join(" = ".join(e["where"] for e in g) for g in groups[:SHOWN]))
    _groups("leakage: identical images in train and eval", dups["across"])
    _groups("identical images with different labels", dups["conflicting_labels"])
    for name, issues in found["label_issues"].items():
        _label_issues(name, issues)
    print(f"pictures and data_check.json in {found['out_dir']}")
    return 1 if found["problems"] else 0


def _label_issues(name: str, issues: dict) -> None:
    if not issues["checked"]:
        return
    print(f"{name}: {issues['count']} likely mislabelled of {issues['checked']} checked "
          f"(held-out predictions on {issues['features']}, confident learning); "
          f"{issues['hard']} hard (held-out predictions wrong, not confidently another class)")
    for row in issues["likely_mislabelled"][:SHOWN]:
        print(f"  {row['where']}: labelled {row['label']}, likely {row['suggested']} "
              f"(held-out p={row['probability']:.2f})")


def _groups(title: str, groups: list) -> None:
    if groups:
        print(f"{title}: {len(groups)}, e.g. " + "; ".join(
            " = ".join(f"{e['where']} ({e['set']}, label {e['label']})" for e in g)
            for g in groups[:SHOWN]))


if __name__ == "__main__":
    sys.exit(run(main))
