"""One writer per run directory.

A run holds an exclusive `flock` on `<run>/.lock` while it writes there; the file says who
holds it (process id, host, start time). A second `train` (a resume while the run still
goes on, or two resumes at once) is refused with that holder named. The lock belongs to the
open file, so the system releases it when the holder exits, however it exits: a `.lock`
file left by a killed process is stale and is simply taken over.

Limits: `flock` is per machine; on a network file system shared by several machines it may
not exclude a writer on another machine (the holder's host is in the file and the message).
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from ..errors import UserError

LOCK_NAME = ".lock"
_HELD: set[int] = set()  # descriptors of the locks this process holds


def _forget_in_child() -> None:
    """In a forked child (a DataLoader worker), close the inherited lock descriptors: the
    lock then ends with the process that took it, not with its last worker (workers of a
    killed run outlive it by seconds, and a restarted run must not wait for them)."""
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_in_child)


class RunBusyError(UserError):
    """Another live process is writing this run directory."""


class RunLock:
    """Hold the run directory's lock from `acquire()` until `release()`."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> "RunLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe_holder(fd)
            os.close(fd)
            raise RunBusyError(
                f"{self.path.parent} is in use by {holder}: another training process is "
                "writing this run (a resume while it still runs, or two resumes at once). "
                "Wait for it to end or stop it; a lock left by a process that died is "
                "released by the system, so this holder is alive.") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
        self.fd = fd
        _HELD.add(fd)
        return self

    def release(self) -> None:
        if self.fd is not None:
            _HELD.discard(self.fd)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _describe_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"process {info['pid']} on host {info['host']} (since {info['since']})"
    except (ValueError, KeyError, TypeError, OSError):
        return "another process"


def is_locked(run_dir: str | Path) -> bool:
    """Whether a live process holds the run directory's lock now (nothing is written)."""
    path = Path(run_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
