"""Two "machines": Linux network namespaces joined by a veth pair, each with its own address
and its own output directory (no shared file system), one Paddle launcher in each
(`--nnodes 2 --master <node A>:port`). One node is killed mid-epoch; the whole job is
restarted with the same commands (`Global.resume: auto`): rank 0 continues from its
mid-epoch checkpoint and sends the state to the other node, and the job ends with the
uninterrupted run's weights. Traffic stays inside the namespaces.

Needs root and `ip netns` (CI runs as root); skipped with the reason otherwise.
"""
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

from ..conftest import LENET, ROOT
from .test_distributed import env

SMALL = ["Global.epochs=2", "Global.log_interval=1", "DataLoader.classes=[0,1]",
         "Arch.class_num=2", "Metric.topk=[1]", "DataLoader.Train.global_batch_size=32",
         "Callbacks.VisualDL=false", "Report=false", "Global.resume=auto",
         "Global.save_steps=5"]
ADDRESSES = ("10.231.0.1", "10.231.0.2")


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def can_make_namespaces() -> str | None:
    """Why the test cannot run here, or None."""
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    probe = f"psprobe{os.getpid()}"
    try:
        made = ip("netns", "add", probe, check=False)
    except FileNotFoundError:
        return "no `ip` command (iproute2)"
    if made.returncode:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    return None


REASON = can_make_namespaces()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))


@contextmanager
def two_machines():
    """Namespaces (A, B) joined by a veth pair: A is 10.231.0.1, B is 10.231.0.2."""
    tag = os.getpid() % 100000
    spaces, links = (f"psa{tag}", f"psb{tag}"), (f"va{tag}", f"vb{tag}")
    try:
        try:
            for ns in spaces:
                ip("netns", "add", ns)
            ip("link", "add", links[0], "type", "veth", "peer", "name", links[1])
            for ns, link, address in zip(spaces, links, ADDRESSES):
                ip("link", "set", link, "netns", ns)
                ip("-n", ns, "addr", "add", f"{address}/24", "dev", link)
                ip("-n", ns, "link", "set", link, "up")
                ip("-n", ns, "link", "set", "lo", "up")
        except subprocess.CalledProcessError as exc:
            pytest.skip(f"this machine cannot join namespaces by a veth pair: "
                        f"{' '.join(exc.cmd)}: {exc.stderr.strip()}")
        yield list(zip(spaces, links, ADDRESSES))
    finally:
        for ns in spaces:
            kill_all(ns)
            ip("netns", "del", ns, check=False)


def pids(ns: str) -> list[int]:
    return [int(p) for p in ip("netns", "pids", ns, check=False).stdout.split()]


def kill_all(ns: str) -> None:
    for pid in pids(ns):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_node(machine, logs, out):
    ns, link, address = machine
    argv = ["ip", "netns", "exec", ns, sys.executable, "-m", "paddle.distributed.launch",
            "--host", address, "--nnodes", "2", "--master", f"{ADDRESSES[0]}:29500",
            "--nproc_per_node", "1", "--log_dir", str(logs), str(ROOT / "tools" / "train.py"),
            "-c", str(LENET)]
    for item in SMALL + [f"Global.output_dir={out}"]:
        argv += ["-o", item]
    return subprocess.Popen(argv, env=env(GLOO_SOCKET_IFNAME=link), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def run_job(machines, tmp_path, name):
    nodes = [start_node(m, tmp_path / f"{name}-{i}", tmp_path / f"out-{name}-{i}")
             for i, m in enumerate(machines)]
    return nodes


def worker_log(folder) -> str:
    return "".join(p.read_text() for p in sorted(folder.glob("workerlog.*")))


def digests(tmp_path, name) -> list[str]:
    return [re.findall(r"final weights sha256 ([0-9a-f]{64})",
                       worker_log(tmp_path / f"{name}-{i}"))[-1] for i in (0, 1)]


def test_a_node_killed_mid_epoch_and_restarted_finishes_the_job_identically(tmp_path):
    with two_machines() as machines:
        ref = run_job(machines, tmp_path, "ref")
        assert [n.wait(timeout=600) for n in ref] == [0, 0]
        reference = digests(tmp_path, "ref")
        assert reference[0] == reference[1]

        nodes = [start_node(m, tmp_path / f"cut-{i}", tmp_path / f"out-{i}")
                 for i, m in enumerate(machines)]
        deadline = time.time() + 300
        while "epoch 1 step 20/" not in worker_log(tmp_path / "cut-1"):
            assert time.time() < deadline and nodes[1].poll() is None, "node B never trained"
            time.sleep(0.2)
        kill_all(machines[1][0])  # machine B dies mid-epoch
        nodes[0].wait(timeout=300)  # A's collective fails: its launcher ends
        assert nodes[0].returncode != 0  # (gloo raises in Python or aborts: timing decides)
        checkpoints = sorted((tmp_path / "out-0").glob("lenet_mnist/*/checkpoints/resume/*"))
        assert any("-step-" in p.name for p in checkpoints), checkpoints

        again = [start_node(m, tmp_path / f"again-{i}", tmp_path / f"out-{i}")
                 for i, m in enumerate(machines)]
        assert [n.wait(timeout=600) for n in again] == [0, 0], worker_log(tmp_path / "again-0")
        assert "after epoch 0 and" in worker_log(tmp_path / "again-1")  # B resumed mid-epoch
        assert digests(tmp_path, "again") == reference
        assert not (tmp_path / "out-1").exists()  # B never needed the run directory
