"""Where a training epoch is in its data, so a run can stop mid-epoch and continue exactly.

`ResumableBatchSampler` wraps the train loader's batch sampler (paddle's `BatchSampler` or
`DistributedBatchSampler`; their order and random draws are unchanged). It

- can start its next pass `skip` batches in (`resume_at`): it draws the epoch's order as
  an uninterrupted pass would (same random numbers), drops the first `skip` batches'
  indices without loading them, and reports the shorter length for that pass;
- records the host random state (Python's and numpy's) just before it hands out each batch
  (`host_rng_before`). With `num_workers: 0` the transforms of a batch run in the loader's
  thread right after that, so this is the state a resume must restore to augment the next
  batch as the uninterrupted run did; the training thread's own view of the random state
  is ahead by however many batches the loader has prefetched, and is no use.

With `num_workers > 0` each worker process has its own random state; `SampleSeeds` makes
every sample's augmentation depend only on (seed, rank, epoch, sample) instead, so the
order in which workers take batches, their number, and a resume do not change it.
"""
from __future__ import annotations

import random
import threading

import numpy as np

from ..core.rng import host_rng_state, set_host_rng_state

KEPT_STATES = 256  # recorded states kept (the loader prefetches far fewer batches ahead)


class ResumableBatchSampler:
    """A batch sampler that can start a pass mid-epoch and says what the random state was
    before each batch (see the module's docstring)."""

    def __init__(self, inner):
        self.inner = inner
        self._pending = (0, None)   # (batches to skip, host state to set after them)
        self.skipped = 0            # batches the current pass skipped
        self._states: dict[int, dict] = {}
        self._changed = threading.Condition()

    def __getattr__(self, name):  # set_epoch, batch_size, sampler... of the wrapped one
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __len__(self) -> int:
        return len(self.inner) - self.skipped

    def resume_at(self, skip: int, host_state: dict | None) -> None:
        """Make the next pass start after `skip` batches, with `host_state` set just before
        its first batch is handed out (None: leave the random state alone)."""
        self._pending = (skip, host_state)

    def __iter__(self):
        (skip, host_state), self._pending = self._pending, (0, None)
        self.skipped = skip  # len() reports the pass's own length until the next pass
        with self._changed:
            self._states = {}
        index = -1
        for index, batch in enumerate(self.inner):
            if index < skip:
                continue
            if index == skip and host_state is not None:
                set_host_rng_state(host_state)
            self._record(index)
            yield batch
        self._record(max(index + 1, skip))  # the state after the pass's last batch

    def _record(self, index: int) -> None:
        with self._changed:
            self._states[index] = host_rng_state()
            self._states.pop(index - KEPT_STATES, None)  # indices rise by one per batch
            self._changed.notify_all()

    def host_rng_before(self, index: int, timeout: float = 120.0) -> dict:
        """The host random state just before batch `index` of this pass (an index into the
        whole epoch) was handed out, or after the last batch; waits for the loader's thread
        to reach it."""
        with self._changed:
            if not self._changed.wait_for(lambda: index in self._states, timeout):
                raise TimeoutError(f"the data loader did not reach batch {index} in "
                                   f"{timeout:.0f} s")
            return self._states[index]


class SampleSeeds:
    """Seeds Python's and numpy's random state for each sample from (seed, rank, epoch,
    sample index) before its transforms run: set `epoch` each epoch (before the loader's
    workers start) and call it with the sample's index."""

    def __init__(self, seed: int, rank: int = 0):
        self.seed, self.rank, self.epoch = seed, rank, 0

    def __call__(self, index: int) -> None:
        key = np.random.SeedSequence([self.seed, self.rank, self.epoch, int(index)])
        state = key.generate_state(2)
        random.seed(int(state[0]))
        np.random.seed(int(state[1]))
