"""The README's commands, pasted in order into a fresh checkout, each run as a user would
(with short overrides so the whole walk takes minutes, not hours): every one exits 0."""
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ..conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from check_docs import readme_commands  # noqa: E402

NOT_RUN = ("pip install", "python -m pytest")  # the install itself; the tests themselves


def shortened(command: str, port: int) -> list[str]:
    """The command's words with the test's short overrides appended."""
    words = command.split()
    if "tools/serve_visualdl.py" in words:
        return words + ["--port", str(port)]
    if "tools/tune.py" in words:
        return words + ["-o", "study.n_trials=2", "-o", "Global.epochs=1",
                        "-o", "Callbacks.VisualDL=false"]
    if "tools/train.py" in words:
        return words + ["-o", "Global.epochs=1"]
    if "tools/lr_find.py" in words or "tools/sanity_check.py" in words:
        return words + ["--steps", "60"]
    return words


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_fetch(words: list[str], cwd, env) -> None:
    server = subprocess.Popen([sys.executable, *words[1:]], cwd=cwd, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = re.search(r"http://\S+", server.stdout.readline()).group(0)
        for _ in range(150):
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    assert response.status == 200
                    return
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"{url} did not answer")
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_every_readme_command_runs_in_order_in_a_fresh_checkout(tmp_path):
    for name in ("tools", "configs", "bench", "examples", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    ran = []
    for command in readme_commands(ROOT):
        if command.startswith(NOT_RUN):
            continue
        words = shortened(command, free_port())
        if "tools/serve_visualdl.py" in words:
            serve_and_fetch(words, tmp_path, env)
        else:
            proc = subprocess.run([sys.executable if w == "python" else w for w in words],
                                  cwd=tmp_path, env=env, capture_output=True, text=True,
                                  timeout=900)
            assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        ran.append(command)
    assert len(ran) >= 15 and any("tools/infer.py" in c for c in ran)
    assert (tmp_path / "logs" / "lenet_mnist").is_dir()
