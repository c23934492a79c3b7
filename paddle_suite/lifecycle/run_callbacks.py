"""Assemble a configured run's callbacks in the order `fit` must call them (`RunCallbacks`).
The `Callbacks` section's options are checked in `config/callbacks_section.py`."""
from __future__ import annotations

from functools import partial

from paddle.io.dataloader.collate import default_collate_fn

from ..callbacks.accumulation import AccumulationGroups
from ..callbacks.averaging import EMA, SWA
from ..callbacks.checkpoints import CheckpointSaver
from ..callbacks.data_parallel import AverageBatchNorm, EpochSeeds, MeanTrainLogs
from ..callbacks.early_stopping import EarlyStopping
from ..callbacks.evaluator import Evaluator
from ..callbacks.hapi_fixes import ResetStopTraining
from ..callbacks.lr_stepper import LRStepper
from ..callbacks.monitor import Monitor
from ..callbacks.nan_guard import NaNGuard
from ..callbacks.plateau import PlateauDecay
from ..callbacks.progress import ProgressLogger
from ..callbacks.recorder import RunRecorder
from ..callbacks.resume_writer import MidEpoch, ResumeState, SampleSeedEpochs
from ..callbacks.run_state import Phase, RunClock, RunState, phase_of
from ..callbacks.saliency_maps import SaliencyMaps
from ..callbacks.snapshots import Snapshots
from ..callbacks.visualdl_logger import VisualDLLogger
from ..callbacks.weight_stats import WeightStats
from ..cluster.distributed import any_ranks, average_buffers, gather_objects
from ..data.failures import DataFailureGuard
from ..data.resumable import ResumableBatchSampler
from ..runs.store import CheckpointStore
from ..training.amp import loss_scale
from ..training.metrics import PredictionCollector
from ..visual.hparams import display_name, page_hparams, sibling_configs
from ..visual.tap import BatchTap


class RunCallbacks:
    """The callbacks of one configured run, in the order `fit` must call them, and the
    run's `RunState` (`state`), which they read.

    The order is each callback's declared `phase` (run_state.Phase), ties in the order
    listed here:
    1. CLOCK, the RunClock: counts the batch, times the epoch, records the best value (every
       later callback reads this batch's numbers; also the Evaluator's first listener);
    2. GUARD: the data-parallel helpers, the stop reset, the data-failure guard,
       accumulation groups, the NaN guard (they act on the batch before anything records it);
    3. AVERAGE, EMA (after the update), then EVALUATE, the Evaluator, which hands each
       evaluation to its listeners, the WATCH phase: weight statistics, progress, run
       records, checkpoints, early stopping, plateau decay, VisualDL, extra callbacks;
    4. STEP, the LR stepper, then AFTER_STEP: Snapshots (compares the LR of the epoch's last
       update with the next one), SWA, saliency maps;
    5. PERSIST, ResumeState: its checkpoint holds every other callback's state.
    """

    def __init__(self, cfg: dict, built, run_dir, resume=None, resume_state=None, extra=(),
                 saved: dict | None = None, stop=None):
        """`run_dir` None (data-parallel ranks other than 0): the same training decisions,
        no files written. `stop`: a preemption.StopRequest the run obeys."""
        glob, ck = cfg["Global"], cfg["Callbacks"]["Checkpoint"]
        writes = run_dir is not None
        self.monitor = Monitor(ck["monitor"], ck["mode"])
        self.store = CheckpointStore()  # every weights file of the run, each content once
        self.state = RunState(epochs_before=resume.epoch if resume else 0,
                              total_epochs=glob["epochs"], monitor=self.monitor)
        clock = RunClock(self.state)
        self._decisions(cfg, built, run_dir)
        self.extra = list(extra)
        watchers = [c for c in (ProgressLogger(glob["log_interval"],
                                               lr_getter=built.optimizer.get_lr),
                                self.recorder, self.saver, self.early, self.plateau,
                                self.visualdl, *self.extra) if c]
        parallel = _data_parallel(built.world, built.data.train_loader.batch_sampler,
                                  glob["seed"])
        evaluator = self._evaluator(glob, built, [clock, *watchers], parallel)
        self.guard = _nan_guard(cfg, built)
        groups = AccumulationGroups(built.accumulated, cfg["Optimizer"]["accumulate_steps"],
                                    built.data.train_loader) if built.accumulated else None
        stateful = {"clock": clock, "recorder": self.recorder, "saver": self.saver,
                    "evaluator": evaluator, "stepper": self.stepper, "nan_guard": self.guard,
                    "early_stopping": self.early, "plateau": self.plateau, "ema": self.ema,
                    "swa": self.swa, "snapshots": self.snapshots, "loss_scaler": built.scaler,
                    "weight_stats": self.weight_stats}
        self.keeper = keeper = ResumeState(
            run_dir / "checkpoints" / "resume" if writes else None, built.optimizer,
            {k: v for k, v in stateful.items() if v is not None}, resume, resume_state, saved,
            store=self.store, mid_epoch=_mid_epoch(cfg, built, stop))
        data_guard = DataFailureGuard([built.data.failures])
        data_guard.phase = Phase.GUARD  # a data-layer callback: its phase is declared here
        seeds = getattr(built.data.train, "sample_seeds", None)
        seeds = SampleSeedEpochs(seeds) if seeds is not None else None
        self.all = sorted((c for c in (clock, *parallel, seeds, ResetStopTraining(), data_guard,
                                       groups,
                                       self.guard, self.ema, evaluator, self.weight_stats,
                                       *watchers, self.stepper, self.snapshots, self.swa,
                                       self.saliency, keeper) if c),
                          key=phase_of)  # by declared phase; ties keep this order

    def _decisions(self, cfg: dict, built, run_dir) -> None:
        """The callbacks that record, save, stop, average and step: the run's decisions."""
        options, writes, data = cfg["Callbacks"], run_dir is not None, built.data
        lr_getter = built.optimizer.get_lr
        ckpt_dir = run_dir / "checkpoints" if writes else None
        self.weight_stats = WeightStats()
        self.recorder = RunRecorder(run_dir / "metrics.jsonl" if writes else None, lr_getter,
                                    [self.weight_stats])
        self.saver = CheckpointSaver(ckpt_dir, self.monitor, options["Checkpoint"]["top_k"],
                                     self.store) if writes else None
        self.early = _maybe(EarlyStopping, options.get("EarlyStopping"))
        self.plateau = _maybe(PlateauDecay, options.get("PlateauDecay"), scaled_lr=built.schedule)
        self.ema = _maybe(EMA, options.get("EMA"), directory=ckpt_dir)
        self.swa = _maybe(SWA, options.get("SWA"), directory=ckpt_dir,
                          bn_loader=data.train_loader, eval_loader=data.eval_loader,
                          sync_buffers=partial(average_buffers, world=built.world)
                          if built.world.parallel else None)
        self.snapshots = _maybe(Snapshots, options.get("Snapshots") if writes else None,
                                directory=ckpt_dir, lr_getter=lr_getter, store=self.store)
        self.stepper = LRStepper(built.schedule, built.clock.step_on,
                                 cfg["Optimizer"]["accumulate_steps"])
        self.collector = next(m for m in built.metrics if isinstance(m, PredictionCollector))
        self.visualdl = self._visualdl(options.get("VisualDL") if writes else None, cfg, built,
                                       run_dir, lr_getter)
        self.saliency = _maybe(SaliencyMaps, options.get("Saliency") if writes else None,
                               view=data.eval or data.train,
                               directory=run_dir / "saliency" if writes else None,
                               visualdl=self.visualdl, class_names=data.class_names)

    def _evaluator(self, glob: dict, built, listeners: list, parallel: list):
        """The Evaluator handing each evaluation to `listeners` (None without eval data)."""
        data = built.data
        if data.eval_loader is None:
            return None
        return Evaluator(data.eval_loader, listeners, glob["eval_interval"], glob["eval_steps"],
                         built.metrics, [self.ema] if self.ema else [], [data.failures.check],
                         [parallel[-1].average] if parallel else [])

    def _visualdl(self, options, cfg, built, run_dir, lr_getter):
        if options is None:
            return None
        tap = None
        loader = built.data.train_loader
        if options["images"] and cfg["DataLoader"]["Train"]["num_workers"] == 0:
            tap = BatchTap(loader.collate_fn or default_collate_fn)
            loader.collate_fn = tap
        view = built.data.eval or built.data.train
        overrides = getattr(cfg, "overrides", ())
        hparams = page_hparams(cfg, overrides, sibling_configs(run_dir))
        return VisualDLLogger(run_dir, hparams, lr_getter,
                              collector=self.collector, tap=tap,
                              class_names=built.data.class_names, sample=view.fallback[0],
                              display_name=display_name(cfg, run_dir.name, overrides),
                              **options)

    def stop_reason(self) -> str | None:
        """Why a callback ended training early, if one did."""
        reasons = [c.stop_reason for c in (self.early, self.plateau, *self.extra)
                   if c and getattr(c, "stop_reason", None)]
        return reasons[0] if reasons else None

    def summary(self) -> dict:
        """What the optional callbacks did, for summary.json."""
        out = {}
        if self.plateau:
            out["lr_changes"] = self.plateau.changes
        if self.early:
            out["early_stopping"] = {"best": self.early.state.best,
                                     "best_epoch": self.early.state.best_epoch,
                                     "restored_best_weights": self.early.restored}
        if self.snapshots:
            out["snapshots"] = self.snapshots.saved
        if self.swa:
            out["swa"] = {"epochs_averaged": self.swa.count, "eval": self.swa.result}
        if self.guard.scaler is not None:
            out["amp"] = {"skipped_updates": self.guard.skipped,
                          "final_loss_scale": loss_scale(self.guard.scaler)}
        out["lr_schedule_steps"] = self.stepper.steps
        return out


def _data_parallel(world, sampler, seed) -> list:
    """The callbacks that keep data-parallel processes in step (none for one process);
    the last averages BatchNorm statistics."""
    if not world.parallel:
        return []
    return [MeanTrainLogs(world), EpochSeeds(sampler, seed, world), AverageBatchNorm(world)]


def _mid_epoch(cfg: dict, built, stop) -> MidEpoch | None:
    """What mid-epoch checkpoints and preemption need (None when the loader cannot start
    mid-epoch: a loader built outside the suite)."""
    sampler, world = built.data.train_loader.batch_sampler, built.world
    if not isinstance(sampler, ResumableBatchSampler):
        return None
    glob = cfg["Global"]
    return MidEpoch(sampler, [m for m in built.metrics if not isinstance(m, PredictionCollector)],
                    every_steps=glob["save_steps"] or None,
                    every_minutes=glob["save_minutes"] or None,
                    accumulate=cfg["Optimizer"]["accumulate_steps"], stop=stop,
                    rank=world.rank, processes=world.size,
                    agree=partial(any_ranks, world=world),
                    gather=partial(gather_objects, world=world))


def _nan_guard(cfg: dict, built) -> NaNGuard:
    amp = cfg["AMP"]
    return NaNGuard(built.optimizer.get_lr, world=built.world,
                    accumulate=cfg["Optimizer"]["accumulate_steps"], scaler=built.scaler,
                    float16=amp["use_amp"] and amp["dtype"] == "float16")


def _maybe(cls, options, **injected):
    return None if options is None else cls(**injected, **options)
