"""MNIST -> UCI digits transfer table (scratch / predict-only / train-head / train-all):
python tools/transfer_table.py --pretrained logs/lenet_mnist/<run> [--ks 5 10 50] [--seeds 0 1 2]"""
import argparse
import os
import sys

from paddle_suite.cli import quiet_paddle, run, run_path, single_process

DEFAULT = os.path.join(os.path.dirname(__file__), "..", "configs", "transfer",
                       "digits_train_head.yaml")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-c", "--config", default=DEFAULT, help="the transfer config")
    parser.add_argument("--pretrained", required=True, help="MNIST run directory or weights")
    parser.add_argument("--ks", type=int, nargs="+", default=[5, 10, 50])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output-dir", default="logs")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    args = parser.parse_args(argv)
    single_process("tools/transfer_table.py")
    quiet_paddle()
    from paddle_suite.tuning.transfer_table import transfer_table
    table = transfer_table(args.config, run_path(args.pretrained), args.ks, args.seeds, args.output_dir)
    print(table["markdown"], end="")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(table["markdown"])


if __name__ == "__main__":
    sys.exit(run(main))
