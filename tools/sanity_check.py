"""Sanity checks before training: python tools/sanity_check.py -c configs/lenet.yaml
Initial loss vs log(C), symmetric init, overfitting a tiny subset, gradient/activation health."""
import json
import sys

from paddle_suite.cli import base_parser, quiet_paddle, run, single_process


def main(argv=None):
    parser = base_parser(__doc__)
    parser.add_argument("--subset", type=int, default=50, help="samples to overfit (20-100)")
    parser.add_argument("--steps", type=int, default=300, help="update budget for the overfit")
    parser.add_argument("--json", metavar="FILE", help="also write the verdicts as JSON")
    args = parser.parse_args(argv)
    single_process("tools/sanity_check.py")
    quiet_paddle()
    from paddle_suite import load_config
    from paddle_suite.tuning.sanity import run_checks
    results = run_checks(load_config(args.config, args.override), args.subset, args.steps)
    for r in results:
        print(f"[{r['verdict'].upper():>4}] {r['check']}: {r['detail']}")
        if r["advice"]:
            print(f"       advice: {r['advice']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 1 if any(r["verdict"] == "fail" for r in results) else 0


if __name__ == "__main__":
    sys.exit(run(main))
