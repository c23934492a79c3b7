"""Shared command-line plumbing: `-c config -o Section.key=value`, `--debug`, exit status 2."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings

from .errors import Preempted, UserError


def base_parser(description: str, config_required: bool = True) -> argparse.ArgumentParser:
    """An argparse parser with the PaddleClas-style -c/-o options and --debug."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("-c", "--config", required=config_required, help="YAML config file")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. -o Global.epochs=5 (repeatable)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return parser


def run_path(text: str | None):
    """A path given on the command line, with `latest` standing for the newest run directory
    (`logs/lenet_mnist/latest`); see rundir.resolve_latest."""
    from .runs.rundir import resolve_latest
    try:
        return resolve_latest(text)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def setup_logging() -> None:
    """Plain `paddle_suite` log lines on stderr; silence library warnings noise."""
    logger = logging.getLogger("paddle_suite")
    for old in [h for h in logger.handlers if type(h) is logging.StreamHandler]:  # noqa: E721
        logger.removeHandler(old)  # bound to an earlier sys.stderr (tests replace it)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(lambda record: getattr(record, "console", True))  # the tool prints it
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def run(main, argv=None) -> int:
    """Call `main(args)`; print UserErrors as one paragraph and exit 2 (traceback with --debug).

    An integer that `main` returns is the exit status (e.g. 1 for a failed sanity check).
    """
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    setup_logging()
    try:
        code = main(argv)
        return code if isinstance(code, int) else 0
    except UserError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Preempted as exc:
        print(f"preempted: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file system that refuses: read-only, full, not permitted...
        if debug or exc.errno is None:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}. Nothing else was changed; fix the file "
              "system (space, permissions, a read-only mount) and run the command again.",
              file=sys.stderr)
        return 2


def quiet_paddle() -> None:
    """Import paddle without its import-time warnings (ccache) and C++ INFO logs."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import paddle  # noqa: F401
    warnings.filterwarnings("ignore", message="To copy construct from a tensor")


def single_process(tool: str) -> None:
    """Refuse to run `tool` under paddle.distributed.launch: it is one process's job."""
    from .cluster.distributed import current_world

    if current_world().parallel:
        raise UserError(
            f"{tool} runs as a single process; start it with python, not under "
            "paddle.distributed.launch (tools/train.py and tools/eval.py are the data-parallel "
            "tools). To spread a search over machines, start tools/tune.py workers on each "
            "against one --storage postgresql://... study (see README, 'Several devices').")
