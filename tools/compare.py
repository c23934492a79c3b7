"""Compare runs or groups of runs (a group: a folder of runs of one config over seeds):
python tools/compare.py logs/recipe_linear logs/recipe_relu [--metric acc] [--out DIR]
Prints the config keys that differ, the metric per group with its seed spread, and a verdict
for each group against the first; writes compare.md and compare.png."""
import argparse
import sys
from pathlib import Path

from paddle_suite.cli import run, run_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("groups", nargs="+", help="run directories or folders of runs")
    parser.add_argument("--metric", default="acc", help="the final eval metric compared")
    parser.add_argument("--out", default="logs/compare", help="where compare.md goes")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    args = parser.parse_args(argv)
    from paddle_suite.errors import UserError
    from paddle_suite.tuning.compare import load_group, write_comparison
    try:
        groups = [load_group(run_path(g), args.metric) for g in args.groups]
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if len(groups) < 2:
        raise UserError("compare needs two runs or groups of runs (folders of runs).")
    result = write_comparison(groups, Path(args.out), args.metric)
    for key, values in result["differing"].items():
        print(f"{key}: " + " | ".join(str(v) for v in values))
    for line in result["verdicts"]:
        print(line)
    print(f"wrote {result['report']} and compare.png")


if __name__ == "__main__":
    sys.exit(run(main))
