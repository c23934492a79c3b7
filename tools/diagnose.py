"""Name what a run's learning curves show and the usual action:
python tools/diagnose.py logs/lenet_mnist/<run-id>"""
import argparse
import sys
from pathlib import Path

from paddle_suite.cli import run, run_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", help="a run directory (with metrics.jsonl)")
    parser.add_argument("--target-acc", type=float, default=0.9,
                        help="accuracy below which a small gap means underfitting")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    args = parser.parse_args(argv)
    from paddle_suite.errors import UserError
    from paddle_suite.runs.rundir import run_config
    from paddle_suite.training.diagnosis import diagnose, setup_of
    from paddle_suite.visual.report import read_rows
    run_dir = Path(run_path(args.run_dir))
    if not (run_dir / "metrics.jsonl").is_file():
        raise UserError(f"{run_dir}: no metrics.jsonl here; pass a run directory under logs/.")
    import json
    cfg = run_config(run_dir)
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {}
    arch = cfg.get("Arch") or {}
    setup = setup_of(arch, summary if isinstance(summary, dict) else {},
                     cfg.get("Optimizer") if isinstance(cfg.get("Optimizer"), dict) else None)
    for finding in diagnose(read_rows(run_dir), arch.get("class_num"), args.target_acc, setup):
        sure = {"clear": "", "two causes": " (two causes fit)"}.get(finding.get("certainty"), "")
        print(f"{finding['case']}{sure}: {finding['evidence']}.\n  -> {finding['action']}")


if __name__ == "__main__":
    sys.exit(run(main))
