"""Evaluate an ensemble (mean of softmax outputs) against its members:
python tools/ensemble.py -c configs/lenet.yaml --snapshots logs/lenet_snapshot/<run>
python tools/ensemble.py -c configs/lenet.yaml --members run_a run_b run_c"""
import sys

from paddle_suite.cli import base_parser, quiet_paddle, run, run_path, single_process


def main(argv=None):
    parser = base_parser(__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--snapshots", nargs="+", metavar="RUN_DIR",
                       help="run directories whose snapshot-e*.pdparams form the ensemble")
    group.add_argument("--members", nargs="+", metavar="RUN_OR_FILE",
                       help="run directories (their best checkpoint) or weight files")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    single_process("tools/ensemble.py")
    quiet_paddle()
    from paddle_suite import load_config
    from paddle_suite.lifecycle.ensemble import evaluate_ensemble, members_of
    from paddle_suite.runs.rundir import write_json
    members = members_of([run_path(p) for p in args.snapshots or args.members],
                         snapshots=bool(args.snapshots))
    result = evaluate_ensemble(load_config(args.config, args.override), members)
    for row in result["members"]:
        print(f"single  {row['acc']:.4f}  {row['member']}")
    print(f"best single member: {result['best_single']['acc']:.4f}")
    print(f"ensemble of {len(members)} (mean softmax): {result['ensemble_acc']:.4f} "
          f"on {result['samples']} eval samples")
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    sys.exit(run(main))
