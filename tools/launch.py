"""Check the launcher flags against this machine and the config, then run Paddle's launcher:
python tools/launch.py [--join-timeout S] <paddle.distributed.launch flags> tools/train.py -c <config> [-o ...]

The flags are Paddle's (--nproc_per_node, --devices, --nnodes, --master, --log_dir, ...) and
pass through unchanged. Catches, before anything starts: --devices on a machine without those
GPUs, a global batch size that does not split over the processes, Global.device: gpu without
a GPU, an unreachable --master; and ends a job whose nodes never all join."""
import argparse
import sys

from paddle_suite.cli import quiet_paddle, run

JOIN_TIMEOUT = 300.0


def seconds(text: str) -> float:
    from paddle_suite import UserError
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise UserError(f"--join-timeout {text}: expected a positive number of seconds.")
    return value


def own_options(argv: list[str]) -> tuple[float, list[str]]:
    """Take --join-timeout and --debug (this tool's) out of the launcher flags."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--join-timeout", type=seconds, default=JOIN_TIMEOUT)
    parser.add_argument("--debug", action="store_true")
    known, rest = parser.parse_known_args(argv)
    return known.join_timeout, rest


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    from paddle_suite.lifecycle.launch import (
        check_config,
        check_master,
        launcher_flags,
        plan,
        run_launcher,
        split_command,
    )
    flags, command = split_command(argv)
    timeout, flags = own_options(flags)
    quiet_paddle()
    from paddle_suite.cluster.distributed import visible_gpus
    gpus = visible_gpus()
    job = plan(launcher_flags(flags), gpus)
    check_config(command[1:], job.processes, gpus)
    check_master(job.master, job.nodes, timeout)
    print(f"launch: {job.processes} process(es) ({job.per_node} per node x {job.nodes} "
          f"node(s)); worker logs in {job.log_dir}/", file=sys.stderr)
    return run_launcher(flags, command, job.log_dir, job.nodes, timeout)


if __name__ == "__main__":
    sys.exit(run(main))
