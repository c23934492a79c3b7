"""Paddle's elastic launcher (`--master etcd://...`, `--max_restart`) restarting a killed
worker: the restarted processes continue the run from its last mid-epoch checkpoint
(`Global.resume: auto`, `Global.save_steps`) without a human, and the job ends with the
uninterrupted run's weights.

Needs an etcd server (Debian's `etcd-server`) and the `etcd3` client (which imports only
with protobuf's pure-Python implementation on protobuf >= 4); skipped with the reason
otherwise. Without `--master etcd://` Paddle 3.3.1 does not restart failed workers at all
(docs/reliability.md)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ..conftest import LENET, ROOT
from .test_distributed import env, free_port

PURE_PROTOBUF = {"PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
SMALL = ["Global.epochs=3", "Global.log_interval=1", "DataLoader.classes=[0,1]",
         "Arch.class_num=2", "Metric.topk=[1]", "DataLoader.Train.global_batch_size=32",
         "Callbacks.VisualDL=false", "Report=false", "Global.resume=auto", "Global.save_steps=5"]


def why_not() -> str | None:
    if shutil.which("etcd") is None:
        return "no etcd server (apt-get install etcd-server)"
    probe = subprocess.run([sys.executable, "-c", "import etcd3"], capture_output=True,
                           env={**os.environ, **PURE_PROTOBUF})
    return "no etcd3 client (pip install etcd3)" if probe.returncode else None


REASON = why_not()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))


@pytest.fixture
def etcd(tmp_path):
    client, peer = free_port(), free_port()
    server = subprocess.Popen(
        ["etcd", "--data-dir", str(tmp_path / "etcd"), "--listen-client-urls",
         f"http://127.0.0.1:{client}", "--advertise-client-urls", f"http://127.0.0.1:{client}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls",
         f"http://127.0.0.1:{peer}", "--initial-cluster", f"default=http://127.0.0.1:{peer}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while not answers(client):
        if time.time() > deadline or server.poll() is not None:
            server.kill()
            pytest.fail("the etcd server did not start")
        time.sleep(0.2)
    try:
        yield f"etcd://127.0.0.1:{client}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def answers(port: int) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def command(out, logs, *launcher):
    argv = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
            "--log_dir", str(logs), *launcher, str(ROOT / "tools" / "train.py"), "-c", str(LENET)]
    for item in SMALL + [f"Global.output_dir={out}"]:
        argv += ["-o", item]
    return argv


def digest(logs) -> str:
    return re.findall(r"final weights sha256 ([0-9a-f]{64})",
                      (logs / "workerlog.0").read_text())[-1]


def test_a_killed_worker_is_restarted_and_continues_from_its_checkpoint(tmp_path, etcd):
    ref = subprocess.run(command(tmp_path / "ref", tmp_path / "ref-logs"), env=env(),
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert ref.returncode == 0, ref.stdout[-2000:]
    job = subprocess.Popen(command(tmp_path / "out", tmp_path / "logs", "--master", etcd,
                                   "--job_id", f"suite{os.getpid()}", "--max_restart", "2",
                                   "--elastic_level", "1"),
                           env=env(**PURE_PROTOBUF), cwd=tmp_path, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    worker_log, deadline = tmp_path / "logs" / "workerlog.1", time.time() + 300
    while "epoch 2 step 10/" not in (worker_log.read_text() if worker_log.exists() else ""):
        assert time.time() < deadline and job.poll() is None, "the job never reached epoch 2"
        time.sleep(0.2)
    pid = int(re.findall(r"^(\d+)", subprocess.run(
        ["pgrep", "-f", "-n", f"tools/train.py.*{tmp_path / 'out'}"], capture_output=True,
        text=True).stdout)[0])
    os.kill(pid, signal.SIGKILL)  # one worker dies mid-epoch
    assert job.wait(timeout=600) == 0
    log = (tmp_path / "logs" / "workerlog.0").read_text()
    assert re.search(r"resumed from .*epoch-0001-step-\d+ after epoch 1 and \d+ batches", log)
    assert digest(tmp_path / "logs") == digest(tmp_path / "ref-logs")
