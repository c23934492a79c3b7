"""Hyper-parameter search (Optuna; trials are ordinary runs under logs/<study name>/):
python tools/tune.py -c configs/search/lenet_lr_wd.yaml [--output-dir logs] [-o KEY=VALUE ...]

-o study.<key>=value sets a study option (study.n_trials=2, study.name=quick); any other
-o is a training-config override for every trial (Global.epochs=1)."""
import sys

from paddle_suite.cli import base_parser, quiet_paddle, run, single_process


def main(argv=None):
    parser = base_parser(__doc__)
    parser.add_argument("--output-dir", default="logs", help="where trials and results go")
    parser.add_argument("--storage", help="override study.storage (e.g. postgresql://...)")
    parser.add_argument("--coarse-to-fine", action="store_true",
                        help="then narrow the ranges around the top trials, search again, "
                             "and train the winner")
    parser.add_argument("--top-k", type=int, default=3, help="trials that set the fine ranges")
    parser.add_argument("--final-epochs", type=int, help="epochs for the winner's final run")
    args = parser.parse_args(argv)
    single_process("tools/tune.py")
    quiet_paddle()
    from paddle_suite.config.search_file import load_search
    from paddle_suite.tuning.search import hide_password, run_search
    search = load_search(args.config, args.override)
    if args.storage:
        search["study"]["storage"] = args.storage
        print(f"storage: {hide_password(args.storage)}")
    if args.coarse_to_fine:
        from paddle_suite.tuning.refine import coarse_to_fine
        outcome = coarse_to_fine(search, args.output_dir, args.top_k,
                                 final_epochs=args.final_epochs)
        print(f"fine ranges: {outcome['fine_space']}")
        summary = outcome["final_summary"]
        print(f"final run {outcome['final_run']}: {summary['best_metric']} "
              f"{summary['best_value']} ({summary['stop_reason']})")
        return
    result = run_search(search, args.output_dir)
    print(f"{result['trials']} trials ({result['completed']} completed, {result['pruned']} "
          f"pruned), {result['epochs_trained']} epochs trained")
    if "best_value" in result:
        print(f"best {search['study']['metric']} {result['best_value']:.4f} with "
              f"{result['best_params']}")
        print(f"ranked table: {result['folder']}/trials.md; ready-to-train config: "
              f"{result['folder']}/best_config.yaml")


if __name__ == "__main__":
    sys.exit(run(main))
