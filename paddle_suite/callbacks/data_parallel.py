"""Callbacks that keep the processes of a data-parallel run in step."""
from __future__ import annotations

import random

import numpy as np
import paddle

from ..cluster.distributed import (
    World,
    average_buffers,
    mean_over_ranks,
    rank_seed,
    shuffle_epoch,
)
from .monitor import scalar
from .run_state import Phase, RunCallback, run_epoch


class EpochSeeds(RunCallback):
    """At the start of every epoch: give each process's DistributedBatchSampler the same
    shuffle epoch (all ranks must split one permutation), and reseed Python, numpy and paddle
    per (seed, rank, epoch), so augmentation and dropout differ between ranks yet repeat
    exactly when a run is resumed (nothing about them needs to be saved).
    """

    phase = Phase.GUARD

    def __init__(self, sampler, seed: int | None, world: World):
        super().__init__()
        self.sampler, self.seed, self.world = sampler, seed, world

    def on_epoch_begin(self, epoch, logs=None):
        number = run_epoch(self, epoch)
        self.sampler.set_epoch(shuffle_epoch(self.seed, number))
        if self.seed is not None:
            seed = rank_seed(self.seed, self.world.rank, number)
            random.seed(seed)
            np.random.seed(seed)
            paddle.seed(seed)


class MeanTrainLogs(RunCallback):
    """Replace each process's epoch training metrics (loss, accuracy: means over its own
    shard) by their mean over all processes, before anyone records them. Every shard has the
    same number of samples, so this is the mean over the whole epoch (phase GUARD: before any
    callback records them).
    """

    phase = Phase.GUARD

    def __init__(self, world: World):
        super().__init__()
        self.world = world

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        keys = sorted(k for k, v in logs.items() if k not in ("step", "batch_size")
                      and np.size(v) == 1)
        values = [scalar(logs[k]) for k in keys]
        for key, value in zip(keys, mean_over_ranks(values, self.world)):
            logs[key] = value


class AverageBatchNorm(RunCallback):
    """At the end of every epoch, average the BatchNorm statistics over the processes, so
    every replica is identical before it is evaluated, checkpointed or saved. Put it before
    the Evaluator; pass `average` to the Evaluator's `prepare` for mid-epoch evaluations.
    Averages only when a training step ran since the last time (every rank agrees on that).
    """

    phase = Phase.GUARD

    def __init__(self, world: World):
        super().__init__()
        self.world, self.stale = world, False

    def on_train_batch_end(self, step, logs=None):
        self.stale = True

    def average(self) -> None:
        if self.stale:
            average_buffers(self.model.network, self.world)
            self.stale = False

    def on_epoch_end(self, epoch, logs=None):
        self.average()
