"""Preemption: what a cluster sends before it kills a job, turned into a resume checkpoint.

Schedulers ask a job to stop before they kill it: Kubernetes and Slurm send SIGTERM (Slurm,
with `--signal=USR1@<seconds>`, SIGUSR1 ahead of the time limit). While a run trains,
`stop_requests()` catches both: the signal only sets a flag, and the run's ResumeState,
after the update in progress, writes a resume checkpoint (mid-epoch, exact) and stops the
run with `Preempted` (`summary.json` status `preempted`, exit status 75). The same command
with `Global.resume: auto` then continues it. Outside the main thread, or where another
handler is installed on purpose (not the default), nothing is changed.
"""
from __future__ import annotations

import contextlib
import logging
import signal
import threading

log = logging.getLogger("paddle_suite")

SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGUSR1", None))
                if s is not None)


class StopRequest:
    """Whether a stop was asked for, and by which signal."""

    def __init__(self):
        self.signal_name: str | None = None

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def ask(self, signal_name: str) -> None:
        self.signal_name = self.signal_name or signal_name


@contextlib.contextmanager
def stop_requests(request: StopRequest):
    """Catch SIGTERM and SIGUSR1 into `request` for the block's duration; the previous
    handlers come back after it."""
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {}
    for number in SIGNALS:
        current = signal.getsignal(number)
        if current not in (signal.SIG_DFL, None) and not getattr(current, "suite_handler", 0):
            continue  # someone installed their own handler on purpose: theirs decides

        def handler(signum, frame):
            name = signal.Signals(signum).name
            if not request.requested:
                log.warning("%s received: stopping after this update with a resume checkpoint",
                            name)
            request.ask(name)
        handler.suite_handler = True
        previous[number] = current
        signal.signal(number, handler)
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
