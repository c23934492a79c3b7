"""Two search workers in separate processes share one study on a real PostgreSQL server that
the test starts on 127.0.0.1 (.ci/run installs PostgreSQL and psycopg)."""
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from .test_search import SHARED, TINY, check_distinct_complete_trials, start_workers


def postgres_bin():
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(args):
    """Run a PostgreSQL command as the postgres user when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


@pytest.fixture
def postgres():
    pytest.importorskip("psycopg")
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    os.chmod(root, 0o777)
    data, port = root / "data", free_port()
    init = as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "tuner"])
    assert init.returncode == 0, init.stderr
    start = as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
                         "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"])
    assert start.returncode == 0, start.stderr + (root / "log").read_text()
    try:
        created = as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                               "-U", "tuner", "optuna"])
        assert created.returncode == 0, created.stderr
        yield f"postgresql://tuner:not-a-secret@127.0.0.1:{port}/optuna"
    finally:
        as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_finish_one_study_with_the_exact_trial_count(postgres, tmp_path):
    search = tmp_path / "search.yaml"
    search.write_text(TINY + SHARED % "tpe")
    workers = start_workers(search, 2, postgres, [tmp_path / f"worker{i}" for i in range(2)])
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
        assert "not-a-secret" not in out + err
    import optuna
    study = optuna.load_study(study_name="shared", storage=postgres)
    check_distinct_complete_trials(study, 4)  # same seed, yet no trial repeats another
    # both workers contributed: each wrote the run directories of its own two trials
    assert all(len(list((tmp_path / f"worker{i}" / "shared").glob("trial-*"))) == 2 for i in range(2))
