"""Data-parallel training under Paddle's own launcher.

    python -m paddle.distributed.launch --devices 0,1,2,3 tools/train.py -c <config>
    python -m paddle.distributed.launch --nproc_per_node 2 tools/train.py -c <config>  # CPU, gloo

The launcher starts one process per device and tells each its rank through environment
variables. Each process builds the same model from the same seed, trains on its own shard
of the data (`paddle.io.DistributedBatchSampler`), and `paddle.Model` wraps the network in
`paddle.DataParallel`, so gradients are all-reduced every step and the replicas stay
identical. Evaluation is sharded too; hapi gathers the predictions of every process (and cuts
the sampler's padding) before the metrics see them, so each process computes the metrics of
the whole eval set. Only rank 0 writes the run directory.

This module holds the pieces the engine needs: who am I (`World`), the per-device batch
size, seeds per rank and epoch, forming the process group with a
deadline instead of a hang, and two small collectives.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from ..errors import OptionError, UserError

log = logging.getLogger("paddle_suite")


class DistributedError(UserError):
    """The processes of a data-parallel run cannot work together as configured."""


class PeerLost(DistributedError):
    """Another process of the job died or became unreachable during a collective."""

    exit_code = 75  # EX_TEMPFAIL: restart the job; Global.resume: auto continues it


PEER_FAILURES = ("Connection reset by peer", "Connection closed by peer", "Broken pipe",
                 "TIMEOUT", "Timed out", "Connection refused")


def peer_lost(exc: BaseException, world: World) -> PeerLost | None:
    """The clear error for a collective that failed because a peer process went away (gloo
    reports it as a RuntimeError naming the socket error), or None for any other error."""
    text = str(exc)
    if not world.parallel or not isinstance(exc, RuntimeError) or \
            not any(f in text for f in PEER_FAILURES):
        return None
    where = text.splitlines()[-1][-200:]
    return PeerLost(f"rank {world.rank} of {world.size}: another process of the job was lost "
                    f"during a collective ({where}). Restart the whole job with the same "
                    "command: with Global.resume: auto it continues from the last resume "
                    "checkpoint (Global.save_steps / save_minutes write them mid-epoch).")


def visible_gpus() -> int:
    """How many GPUs this paddle build can use (0 for the CPU wheel)."""
    import paddle
    return paddle.device.cuda.device_count() if paddle.device.is_compiled_with_cuda() else 0


@dataclass(frozen=True)
class World:
    """This process's place among the data-parallel processes (1 process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def primary(self) -> bool:
        """Rank 0: the one process that writes the run directory."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1


def current_world(environ=os.environ) -> World:
    """Read the rank and the number of processes the launcher put in the environment."""
    try:
        size = int(environ.get("PADDLE_TRAINERS_NUM", "1"))
        rank = int(environ.get("PADDLE_TRAINER_ID", "0"))
        local = int(environ.get("PADDLE_RANK_IN_NODE", environ.get("PADDLE_LOCAL_RANK", "0")))
    except ValueError as exc:
        raise DistributedError(f"The launcher's environment is malformed ({exc}); start "
                               "distributed runs with python -m paddle.distributed.launch.") \
            from None
    if not 0 <= rank < size:
        raise DistributedError(f"PADDLE_TRAINER_ID={rank} is not a rank of "
                               f"PADDLE_TRAINERS_NUM={size} processes.")
    return World(rank, size, local)


def per_device_batch_size(section: dict, world: World) -> int:
    """The batch each process loads: `DataLoader.Train.global_batch_size` split evenly over
    the processes when it is set, else `DataLoader.Train.batch_size` (per device)."""
    total = section.get("global_batch_size")
    if total is None:
        return section["batch_size"]
    if total % world.size:
        lower, upper = total // world.size * world.size, -(-total // world.size) * world.size
        raise OptionError(
            f"DataLoader.Train.global_batch_size: {total} does not split evenly over the "
            f"{world.size} processes the launcher started. Use a multiple of {world.size} "
            f"(e.g. {lower or upper} or {upper}), or launch a number of processes that "
            f"divides {total}.")
    return total // world.size


def rank_seed(seed: int, rank: int, epoch: int) -> int:
    """The seed of a process's random streams (augmentation, dropout, mixup) in an epoch:
    different per rank, fixed per (seed, rank, epoch), so a resumed run repeats them."""
    return int(np.random.SeedSequence([seed, rank, epoch]).generate_state(1)[0])


def shuffle_epoch(seed: int | None, epoch: int) -> int:
    """The epoch number given to every process's DistributedBatchSampler: the same on all
    ranks (they must agree on the permutation they split), different per seed and epoch."""
    if seed is None:
        return epoch
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def master_endpoint(environ=os.environ) -> tuple[str, int]:
    """(host, port) of the process-group store, found the way paddle finds it."""
    if environ.get("MASTER_ADDR") and environ.get("MASTER_PORT"):
        text = f"{environ['MASTER_ADDR']}:{environ['MASTER_PORT']}"
    else:
        text = environ.get("PADDLE_MASTER") or \
            environ.get("PADDLE_TRAINER_ENDPOINTS", "").split(",")[0]
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise DistributedError(f"No usable master endpoint in the environment ({text!r}); "
                               "start distributed runs with python -m paddle.distributed.launch.")
    return host, int(port)


def wait_for_master(host: str, port: int, timeout: float, who: str) -> None:
    """Return once a TCP connection to host:port succeeds; fail clearly after `timeout` s
    (`who` names the waiting side in the message, e.g. "Rank 1")."""
    deadline, last = time.monotonic() + timeout, None
    while True:
        try:
            with socket.create_connection((host, port), timeout=min(5.0, timeout)):
                return
        except OSError as exc:
            last = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    raise DistributedError(
        f"{who} could not reach the master {host}:{port} within {timeout:g} s "
        f"({type(last).__name__}: {last}). Check that the address given to the launcher "
        "(--master, or the first node) is reachable from this machine, that no firewall "
        "blocks the port, and that every node started the same job; raise "
        "Global.dist_timeout if rank 0 needs longer to start.")


WATCHDOG = """
import os, signal, sys, time
pid, seconds, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
time.sleep(seconds)
if os.getppid() == pid:
    print("error: " + message, file=sys.stderr, flush=True)
    os.kill(pid, signal.SIGKILL)
"""


@contextlib.contextmanager
def deadline(seconds: float, message: str):
    """Run the body; if it has not finished after `seconds`, print `message` and end this
    process. Paddle holds the GIL while it waits for the other processes to join, so no
    thread of ours could act: a small watchdog process prints the message and kills this
    one (exit by SIGKILL, which the launcher reports as a failed rank)."""
    watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(os.getpid()), str(seconds),
                                 message], stdin=subprocess.DEVNULL)
    try:
        yield
    finally:
        watchdog.kill()
        watchdog.wait()


def join_process_group(world: World, timeout: float) -> None:
    """Form the collective process group (gloo on CPU, NCCL on GPU) or fail within `timeout`."""
    if not world.parallel:
        return
    import paddle.distributed as dist

    host, port = master_endpoint()
    if not world.primary:
        wait_for_master(host, port, timeout, f"Rank {world.rank}")
    with deadline(timeout, f"rank {world.rank} of {world.size}: the process group did not "
                           f"form within {timeout:g} s (master {host}:{port}); a process "
                           "is missing or cannot connect. Raise Global.dist_timeout if the "
                           "processes start slowly."):
        try:
            dist.init_parallel_env()
        except RuntimeError as exc:
            if "TIMEOUT" not in str(exc) and "onnect" not in str(exc):
                raise
            raise DistributedError(
                f"rank {world.rank} of {world.size}: the processes found each other at the "
                f"master {host}:{port} but could not connect directly "
                f"({str(exc).splitlines()[-1][-160:]}). On machines with several network "
                "interfaces, name the one the nodes share: GLOO_SOCKET_IFNAME=<interface> "
                "(and --host <this node's address> for the launcher).") from None
    log.info("data parallel: rank %d of %d joined the process group at %s:%d", world.rank,
             world.size, host, port)


def _all_reduce(values: list[float], op: str) -> np.ndarray:
    """All-reduce a float64 vector with paddle's `ReduceOp.<op>` (a collective)."""
    import paddle
    import paddle.distributed as dist

    tensor = paddle.to_tensor(np.asarray(values, dtype="float64"))
    dist.all_reduce(tensor, op=getattr(dist.ReduceOp, op))
    return tensor.numpy()


def any_rank(flag: bool, world: World) -> bool:
    """True on every process when `flag` is true on at least one (a collective)."""
    return any_ranks([flag], world)[0]


def any_ranks(flags: list[bool], world: World) -> list[bool]:
    """Each flag, true on every process when true on at least one (one collective)."""
    if not world.parallel:
        return list(flags)
    return [bool(v > 0) for v in _all_reduce([1.0 if f else 0.0 for f in flags], "MAX")]


def broadcast_object(obj, world: World):
    """Rank 0's `obj` on every process (picklable; a collective; identity for one)."""
    if not world.parallel:
        return obj
    import paddle.distributed as dist
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(obj, world: World) -> list:
    """Every process's `obj` (picklable), in rank order (a collective)."""
    if not world.parallel:
        return [obj]
    import paddle.distributed as dist
    out: list = []
    dist.all_gather_object(out, obj)
    return out


def mean_over_ranks(values: list[float], world: World) -> list[float]:
    """The mean over processes of each value (a collective; identity for one process)."""
    if not world.parallel or not values:
        return list(values)
    return [float(v) / world.size for v in _all_reduce(values, "SUM")]


def same_on_all_ranks(value: float, world: World) -> bool:
    """Whether every process passed the same `value` (a collective: max == min)."""
    if not world.parallel:
        return True
    high, neg_low = _all_reduce([value, -value], "MAX")
    return bool(high == -neg_low)


def average_buffers(net, world: World) -> int:
    """Replace the BatchNorm running mean and variance of `net` (and any other floating-point
    buffer) by their mean over the processes; returns how many tensors were averaged (a
    collective).

    paddle.DataParallel all-reduces gradients, but BatchNorm statistics are not gradients
    (paddle keeps them as non-trainable parameters), so each process's statistics follow its
    own shard and drift apart. Averaging them (as timm's `distribute_bn` does) makes the
    replicas identical again before they are evaluated or saved. The averaged variance
    ignores the spread between the shards' means: the usual approximation.
    """
    if not world.parallel:
        return 0
    import paddle
    import paddle.distributed as dist

    from ..models.nets import batch_norm_layers

    norms = batch_norm_layers(net)
    tensors = [t for l in norms for t in (l._mean, l._variance)]
    tensors += [b for _, b in sorted(net.named_buffers(), key=lambda item: item[0])
                if paddle.is_floating_point(b)]
    for tensor in tensors:
        total = tensor.detach().clone()
        dist.all_reduce(total)
        paddle.assign(total / world.size, output=tensor)
    return len(tensors)
