"""LR range test: python tools/lr_find.py -c configs/lenet.yaml [--lr-min 1e-6 --lr-max 1 --steps 200]
Writes lr_find.png, lr_find.json and VisualDL scalars to logs/<experiment>_lr_find/<run-id>/."""
import sys

from paddle_suite.cli import base_parser, quiet_paddle, run, single_process


def main(argv=None):
    parser = base_parser(__doc__)
    parser.add_argument("--lr-min", type=float, default=1e-6)
    parser.add_argument("--lr-max", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args(argv)
    single_process("tools/lr_find.py")
    quiet_paddle()
    from paddle_suite import UserError, load_config
    from paddle_suite.tuning.lr_find import lr_find
    if not 0 < args.lr_min < args.lr_max:
        raise UserError(f"--lr-min {args.lr_min} / --lr-max {args.lr_max}: need 0 < min < max.")
    result = lr_find(load_config(args.config, args.override), args.lr_min, args.lr_max,
                     args.steps)
    stop = "stopped at divergence" if result["stopped_early"] else "full sweep"
    print(f"{len(result['losses'])} updates ({stop}); suggested LR ({result['rule']} rule): "
          f"{result['suggested_lr']:.3g}" if result["suggested_lr"] else "no suggestion")
    others = {k: v for k, v in result["suggestions"].items() if k != result["rule"] and v}
    print("other rules (see BENCHMARKS.md for how each compares with a grid search): "
          + ", ".join(f"{k} {v:.3g}" for k, v in others.items()))
    print(f"plot: {result['run_dir']}/lr_find.png")


if __name__ == "__main__":
    sys.exit(run(main))
