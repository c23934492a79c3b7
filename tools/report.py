"""Write the report of an existing run (learning curves, confusion matrix, per-class metrics,
report.md): python tools/report.py logs/lenet_mnist/<run-id> [--weights FILE]"""
import argparse
import sys

from paddle_suite.cli import quiet_paddle, run, run_path, single_process


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", help="a run directory under logs/")
    parser.add_argument("--weights", help="weights to evaluate (default: final, else best)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    args = parser.parse_args(argv)
    single_process("tools/report.py")
    quiet_paddle()
    from paddle_suite.lifecycle.reevaluation import report_for_run
    from paddle_suite.runs.checkpoint import weights_path
    run_dir = run_path(args.run_dir)
    weights = weights_path(run_path(args.weights) or run_dir)
    print(f"weights: {weights}")
    print(f"wrote {report_for_run(run_dir, str(weights))}")


if __name__ == "__main__":
    sys.exit(run(main))
