"""Evaluate weights on a config's eval data:
python tools/eval.py -c configs/lenet.yaml -o Global.pretrained_model=<checkpoint or run dir>"""
import sys

from paddle_suite.cli import base_parser, quiet_paddle, run


def main(argv=None):
    parser = base_parser(__doc__)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    quiet_paddle()
    from paddle_suite import evaluate, load_config
    from paddle_suite.cluster.distributed import current_world
    from paddle_suite.runs.rundir import write_json
    results = evaluate(load_config(args.config, args.override))
    if not current_world().primary:  # under the launcher every rank evaluates; rank 0 reports
        return
    print(f"weights: {results['weights']} ({results['samples']} eval samples)")
    for key in sorted(k for k in results if k.startswith("acc")) + ["loss"]:
        print(f"{key:>10}: {results[key]:.4f}")
    print("per-class accuracy:")
    for name, row in results["per_class"].items():
        acc = "n/a" if row["accuracy"] is None else f"{row['accuracy']:.4f}"
        print(f"  {name:>10}: {acc} ({row['samples']} samples)")
    if args.json:
        write_json(args.json, results)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    sys.exit(run(main))
