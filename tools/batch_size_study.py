"""Which batch size learns fastest per second?
python tools/batch_size_study.py -c configs/lenet.yaml --batch-sizes 16 32 64 128 256 [--lr-rule linear]"""
import os
import sys

from paddle_suite.cli import base_parser, quiet_paddle, run, single_process


def main(argv=None):
    parser = base_parser(__doc__)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--lr-rule", choices=["linear", "sqrt", "none"], default="linear",
                        help="how the config's LR is scaled from its own batch size")
    args = parser.parse_args(argv)
    single_process("tools/batch_size_study.py")
    quiet_paddle()
    from paddle_suite import UserError, load_config
    from paddle_suite.tuning.batch_size import batch_size_study
    if any(b < 1 for b in args.batch_sizes):
        raise UserError("--batch-sizes: every batch size must be at least 1.")
    result = batch_size_study(load_config(args.config, args.override), args.batch_sizes,
                              args.lr_rule)
    print(open(os.path.join(result["dir"], "batch_size_study.md")).read())
    print(f"plot: {result['dir']}/batch_size_vs_time.png")


if __name__ == "__main__":
    sys.exit(run(main))
