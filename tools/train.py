"""Train a model from a config: python tools/train.py -c configs/lenet.yaml [-o KEY=VALUE ...]"""
import sys

from paddle_suite.cli import base_parser, quiet_paddle, run


def main(argv=None):
    parser = base_parser(__doc__)
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config and exit without training")
    parser.add_argument("--resume", action="store_true",
                        help="continue the newest unfinished run of this experiment from its "
                             "last checkpoint (same as -o Global.resume=latest)")
    args = parser.parse_args(argv)
    quiet_paddle()
    from paddle_suite import UserError, load_config, train
    from paddle_suite.lifecycle.engine import outcome
    cfg = load_config(args.config, args.override)
    if args.resume:  # which run: decided by the engine, on rank 0 (engine._auto_resume)
        cfg["Global"]["resume"] = "latest"  # loaded once: the same paddle names as -o
        cfg.overrides.append("Global.resume=latest")
    if args.print_config:
        print(cfg.to_yaml(), end="")
        return
    if cfg["Global"]["seeds"]:
        from paddle_suite.lifecycle.seeds import group_outcome, train_seeds
        if args.resume:
            raise UserError("--resume continues one run; resume each seed's run of the group "
                            "with -o Global.checkpoints=<group>/seed-<s>.")
        folder, summary, _ = train_seeds(lambda more: load_config(args.config, more),
                                         args.override, cfg)
        print(group_outcome(folder, summary))
        return
    result = train(cfg)
    if result.run_dir is None:  # a data-parallel rank other than 0: rank 0 reports
        return
    print(f"run directory: {result.run_dir}")
    print(outcome(result.summary))


if __name__ == "__main__":
    sys.exit(run(main))
