"""A checked front door to `python -m paddle.distributed.launch`.

    python tools/launch.py --nproc_per_node 2 tools/train.py -c configs/lenet.yaml
    python tools/launch.py --devices 0,1,2,3 tools/train.py -c configs/lenet.yaml
    python tools/launch.py --nnodes 2 --master 10.0.0.1:8090 --devices 0,1 tools/train.py -c ...

It takes the launcher's own flags, checks them against this machine and the training config
before anything starts, then runs Paddle's launcher unchanged. What it catches, each as a
one-paragraph error (exit 2) instead of a traceback or a job that waits forever:

- `--devices` on a paddle build without CUDA, or naming GPUs this machine does not have;
- a config whose `DataLoader.Train.global_batch_size` does not split over the processes the
  flags start, or that asks for `Global.device: gpu` on a machine without one;
- on a worker node, a `--master` that does not answer within `--join-timeout` seconds;
- nodes that never all join: Paddle's launcher waits for every node before it starts a
  process, so when no process has started after `--join-timeout` seconds the job is ended.
"""
from __future__ import annotations

import argparse
import ipaddress
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..cluster.distributed import World, per_device_batch_size, wait_for_master
from ..errors import UserError


@dataclass
class Plan:
    """What the launcher flags ask for."""

    devices: list[str]
    per_node: int
    nodes: int
    master: str | None
    log_dir: Path

    @property
    def processes(self) -> int:
        return self.per_node * self.nodes


def split_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """(launcher flags, [script, script args...]): the script is the first `.py` argument."""
    for i, arg in enumerate(argv):
        if arg.endswith(".py") and not arg.startswith("-"):
            return argv[:i], argv[i:]
    raise UserError("launch: name the training script after the launcher flags, e.g. "
                    "python tools/launch.py --nproc_per_node 2 tools/train.py -c <config>.")


def launcher_flags(flags: list[str]) -> argparse.Namespace:
    """The launcher flags this front door checks; the others pass through untouched."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--devices", "--gpus")
    parser.add_argument("--nproc_per_node", type=int)
    parser.add_argument("--nnodes", default="1")
    parser.add_argument("--master")
    parser.add_argument("--log_dir", default="log")
    known, _ = parser.parse_known_args(flags)
    return known


def plan(flags: argparse.Namespace, gpus: int) -> Plan:
    """Check the device flags against a machine with `gpus` GPUs; count the processes."""
    devices = [d for d in (flags.devices or "").split(",") if d.strip()]
    if devices and gpus == 0:
        raise UserError(f"--devices {flags.devices}: this paddle build sees no GPU (CPU wheel "
                        "or no CUDA device). On CPU start N processes with --nproc_per_node N "
                        "(gloo backend); for GPUs install paddlepaddle-gpu (see README).")
    missing = [d for d in devices if not d.isdigit() or int(d) >= gpus]
    if missing:
        raise UserError(f"--devices {flags.devices}: this machine has {gpus} GPU(s), numbered "
                        f"0..{gpus - 1}; there is no device {', '.join(missing)}.")
    per_node = len(devices) or flags.nproc_per_node or max(gpus, 1)
    try:
        nodes = int(str(flags.nnodes).split(":")[-1])
    except ValueError:
        raise UserError(f"--nnodes {flags.nnodes}: expected a number of nodes.") from None
    if nodes > 1 and not flags.master:
        raise UserError(f"--nnodes {nodes}: several nodes need --master <ip:port> of the node "
                        "that hosts the rendezvous (the same on every node).")
    return Plan(devices, per_node, nodes, flags.master, Path(flags.log_dir))


def check_config(script_args: list[str], processes: int, gpus: int) -> None:
    """Load the script's -c/-o config (if any) and check it against the process count."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-c", "--config")
    parser.add_argument("-o", "--override", action="append", default=[])
    args, _ = parser.parse_known_args(script_args)
    if not args.config:
        return
    from ..cluster.device import check_device
    from ..config.loader import load_config

    cfg = load_config(args.config, args.override)
    check_device(cfg["Global"]["device"], gpus)
    if cfg["DataLoader"]["Train"] is not None:
        per_device_batch_size(cfg["DataLoader"]["Train"], World(0, processes))


def is_this_machine(host: str) -> bool:
    """Whether `host` names an address of this machine (then its launcher hosts the master)."""
    try:
        address = socket.gethostbyname(host)
    except OSError:
        return False
    if ipaddress.ip_address(address).is_loopback:
        return True
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((address, 9))  # UDP: picks the local address, sends nothing
            if probe.getsockname()[0] == address:
                return True
    except OSError:
        pass
    try:
        return address in {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    except OSError:
        return False


def check_master(master: str | None, nodes: int, timeout: float) -> None:
    """On a worker node, wait (up to `timeout` s) until the master answers."""
    if nodes < 2 or not master:
        return
    host, _, port = master.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--master {master}: expected <ip>:<port>, e.g. 10.0.0.1:8090.")
    if not is_this_machine(host):
        wait_for_master(host, int(port), timeout, "this node")


def run_launcher(flags: list[str], command: list[str], log_dir: Path, nodes: int,
                 timeout: float) -> int:
    """Run Paddle's launcher; end it if no process has started after `timeout` seconds."""
    start = time.time()
    child = subprocess.Popen([sys.executable, "-m", "paddle.distributed.launch", *flags, *command])
    try:
        while child.poll() is None:
            if _workers_started(log_dir, start):
                return child.wait()
            if time.time() - start > timeout:
                _stop(child)
                raise UserError(
                    f"No training process started within {timeout:g} s: Paddle's launcher is "
                    f"still waiting for all {nodes} nodes to join the rendezvous. Start the "
                    "same command on every node (same --master, --nnodes), check that they "
                    "can reach the master, or raise --join-timeout.")
            time.sleep(0.5)
        return child.returncode
    except KeyboardInterrupt:
        _stop(child)
        raise


def _workers_started(log_dir: Path, since: float) -> bool:
    return any(p.stat().st_mtime >= since - 1 for p in log_dir.glob("workerlog.*"))


def _stop(child: subprocess.Popen) -> None:
    child.terminate()
    try:
        child.wait(timeout=20)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
