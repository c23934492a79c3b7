"""LR range test: python tools/lr_find.py -c configs/lenet.yaml [--lr-min 1e-6 --lr-max 1 --steps 200]
Sweeps the LR, then trains 100 updates from the initial weights at each of six LRs around
the sweep's suggestion (10x above it to 30x below, half-decade steps) and suggests the one
whose loss ends lowest (--no-check: the sweep's suggestion alone).
Writes lr_find.png, lr_find.json and VisualDL scalars to logs/<experiment>_lr_find/<run-id>/."""
import math
import sys

from paddle_suite.cli import base_parser, quiet_paddle, run, single_process


def main(argv=None):
    parser = base_parser(__doc__)
    parser.add_argument("--lr-min", type=float, default=1e-6)
    parser.add_argument("--lr-max", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--no-check", action="store_true",
                        help="skip the short runs that check the sweep's suggestion")
    args = parser.parse_args(argv)
    single_process("tools/lr_find.py")
    quiet_paddle()
    from paddle_suite import UserError, load_config
    from paddle_suite.tuning.lr_find import lr_find
    if not 0 < args.lr_min < args.lr_max:
        raise UserError(f"--lr-min {args.lr_min} / --lr-max {args.lr_max}: need 0 < min < max.")
    result = lr_find(load_config(args.config, args.override), args.lr_min, args.lr_max,
                     args.steps, check=not args.no_check)
    stop = "stopped at divergence" if result["stopped_early"] else "full sweep"
    sweep = result.get("sweep_suggestion", result["suggested_lr"])
    print(f"{len(result['losses'])} updates ({stop}); the {result['rule']} rule: "
          f"{sweep:.3g}" if sweep else "no suggestion")
    for check in result.get("checks", []):
        end = "diverged" if math.isinf(check["final_loss"]) else f"loss {check['final_loss']:.4g}"
        print(f"  100 updates at {check['lr']:.3g}: {end}")
    if result["suggested_lr"]:
        print(f"suggested LR: {result['suggested_lr']:.3g}")
    if result.get("warning"):
        print(f"warning: {result['warning']}")
    others = {k: v for k, v in result["suggestions"].items() if k != result["rule"] and v}
    print("other rules (see BENCHMARKS.md for how each compares with a grid search): "
          + ", ".join(f"{k} {v:.3g}" for k, v in others.items()))
    print(f"plot: {result['run_dir']}/lr_find.png")


if __name__ == "__main__":
    sys.exit(run(main))
