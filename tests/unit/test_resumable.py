"""Mid-epoch resume and preemption, the parts that need no training: the resumable batch
sampler, per-sample seeds, when a mid-epoch checkpoint is due, checkpoint names, the run
lock across forks and the stop signal."""
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import paddle
import pytest

from paddle_suite.callbacks.resume_writer import step_checkpoint_due
from paddle_suite.cluster.preemption import StopRequest, stop_requests
from paddle_suite.data.resumable import (
    ResumableBatchSampler,
    SampleSeeds,
    host_rng_state,
)
from paddle_suite.runs.lock import RunLock
from paddle_suite.runs.resume_checkpoint import checkpoint_name


def sampler(n=50, batch=8, drop_last=False):
    return ResumableBatchSampler(paddle.io.BatchSampler(list(range(n)), batch_size=batch,
                                                        shuffle=True, drop_last=drop_last))


def augmented_pass(batches, seed, skip=0, host=None, start_rng=None):
    """The batches of one pass with a random 'augmentation' drawn after each is handed out,
    as the loader's thread does with num_workers 0."""
    np.random.seed(seed)
    random.seed(seed)
    if start_rng is not None:
        np.random.set_state(start_rng["numpy"])
        random.setstate(start_rng["python"])
    if skip:
        batches.resume_at(skip, host)
    return [(list(b), np.random.rand(), random.random()) for b in batches]


def test_a_pass_started_mid_epoch_continues_the_uninterrupted_one_exactly():
    s = sampler()
    np.random.seed(3)
    start = host_rng_state()
    whole = augmented_pass(s, 3)
    assert len(s) == 7
    host = s.host_rng_before(4)
    part = augmented_pass(s, 3, skip=4, host=host, start_rng=start)
    assert part == whole[4:]
    assert len(s) == 3  # the resumed pass's own length until the next pass starts
    list(s)
    assert len(s) == 7


def test_the_state_after_the_last_batch_is_recorded():
    s = sampler(16, 8)
    list(s)
    assert s.host_rng_before(2) is not None
    with pytest.raises(TimeoutError):
        s.host_rng_before(5, timeout=0.1)


def test_sample_seeds_depend_on_the_sample_and_epoch_not_on_the_order():
    seeds = SampleSeeds(seed=7)
    def draw(i):
        seeds(i)
        return np.random.rand(), random.random()
    forward = [draw(i) for i in range(5)]
    backward = [draw(i) for i in reversed(range(5))][::-1]
    assert forward == backward
    seeds.epoch = 2
    assert [draw(i) for i in range(5)] != forward
    assert SampleSeeds(seed=7, rank=1)(0) is None and np.random.rand() != forward[0][0]


@pytest.mark.parametrize("batches, expected", [
    (3, True),    # every update
    (8, False),   # the epoch's end: its own checkpoint follows
    (1, False),   # inside an accumulation group of 2
])
def test_a_mid_epoch_checkpoint_falls_between_updates(batches, expected):
    k = 2 if batches == 1 else 1
    assert step_checkpoint_due(batches, 8, k, batches, 1, 0.0, None, False) is expected


def test_checkpoints_are_due_by_updates_minutes_or_a_stop():
    assert not step_checkpoint_due(4, 10, 1, 4, 3, 0.0, None, False)
    assert step_checkpoint_due(6, 10, 1, 6, 3, 0.0, None, False)
    assert step_checkpoint_due(4, 10, 1, 4, None, 5.0, 5.0, False)
    assert not step_checkpoint_due(4, 10, 1, 4, None, 4.9, 5.0, False)
    assert step_checkpoint_due(4, 10, 1, 4, None, 0.0, None, True)


def test_checkpoint_names_sort_in_training_order():
    names = [checkpoint_name(0, 5), checkpoint_name(1), checkpoint_name(1, 3),
             checkpoint_name(1, 12), checkpoint_name(2), checkpoint_name(10, 1)]
    assert sorted(names) == names


def test_a_forked_worker_does_not_keep_a_dead_runs_lock(tmp_path):
    """The lock ends with the process that took it: a DataLoader worker it forked, still
    alive after the run was killed, does not hold it (a restarted run would wait)."""
    script = (f"import os, sys, time; sys.path.insert(0, {str(os.getcwd())!r}); "
              "from paddle_suite.runs.lock import RunLock; "
              f"RunLock({str(tmp_path)!r}).acquire(); "
              "pid = os.fork()\n"
              "if pid == 0: os.close(1); os.close(2); time.sleep(30); os._exit(0)\n"
              "print(pid, flush=True); os.kill(os.getpid(), 9)")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    child = int(proc.stdout.split()[0])
    try:
        os.kill(child, 0)  # the forked child is alive
        RunLock(tmp_path).acquire().release()
    finally:
        os.kill(child, signal.SIGKILL)


def test_a_live_holder_still_excludes(tmp_path):
    held = RunLock(tmp_path).acquire()
    try:
        proc = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, '.'); "
                               "from paddle_suite.runs.lock import RunLock; "
                               f"RunLock({str(tmp_path)!r}).acquire()"],
                              capture_output=True, text=True, timeout=60)
        assert "in use by process" in proc.stderr
    finally:
        held.release()


def test_a_stop_signal_is_caught_while_training_and_released_after():
    request = StopRequest()
    before = signal.getsignal(signal.SIGTERM)
    with stop_requests(request):
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
    assert request.requested and request.signal_name == "SIGUSR1"
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_mid_epoch_checkpoint_continues_only_with_as_many_processes(tmp_path):
    from pathlib import Path

    from paddle_suite.callbacks.resume_writer import MidEpoch, ResumeState
    from paddle_suite.runs.resume_checkpoint import CheckpointError, Resume
    path = Path(tmp_path) / "checkpoints" / "resume" / "epoch-0002-step-000010"
    keeper = ResumeState(None, None, {}, Resume(path, tmp_path, 2, 10),
                         {"callbacks": {}, "position": [{}, {}]},
                         mid_epoch=MidEpoch(sampler=None, metrics=[], processes=1))
    with pytest.raises(CheckpointError, match=r"written by 2 process\(es\); it continues only "
                                              r"with 2 \(this run has 1\).*epoch-0002'?"):
        keeper.check_restorable()
