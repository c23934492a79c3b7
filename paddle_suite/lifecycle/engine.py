"""`train(cfg)` and `evaluate(cfg)`: build everything from a validated config and run it on
`paddle.Model` with the suite's callbacks. The CLI tools, the tests and the search all call
these same functions."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import paddle
from paddle.static import InputSpec

from ..callbacks.hapi_fixes import end_training
from ..callbacks.nan_guard import TrainingDiverged
from ..cluster.device import select_device, sync_batch_norm
from ..cluster.distributed import (
    World,
    broadcast_object,
    current_world,
    join_process_group,
    peer_lost,
    per_device_batch_size,
    same_on_all_ranks,
)
from ..cluster.preemption import StopRequest, stop_requests
from ..config.loader import Config, locating
from ..config.sections import data_spec
from ..data import Data, build_data
from ..errors import DataError, OptionError, Preempted, UserError
from ..models import build_model, check_same_network
from ..runs.checkpoint import load_into, weights_path
from ..runs.lock import RunLock
from ..runs.resume_checkpoint import locate, run_dir_of
from ..runs.rundir import (
    attach_log_file,
    latest_unfinished_run,
    nothing_to_resume,
    write_json,
)
from ..training.amp import (
    attach_loss_scaler,
    autocast_forward,
    hapi_amp_configs,
    require_amp_device,
)
from ..training.diagnosis import diagnose, output_spread, setup_of
from ..training.losses import AccumulatedLoss, build_loss
from ..training.metrics import (
    PredictionCollector,
    build_metrics,
    metric_label,
    shown_value,
)
from ..training.optim import (
    ScaledLR,
    build_optimizer,
    build_schedule,
    scaled_learning_rate,
)
from ..visual.mistakes import raw_image
from ..visual.report import write_report
from .continuing import (
    check_epochs_left,
    check_not_stopped,
    open_run,
    restore_checkpoint,
    signature,
)
from .replan import plan_of
from .run_callbacks import RunCallbacks
from .setup_checks import check_forward, setup_stage

log = logging.getLogger("paddle_suite")
WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM)


def seed_everything(seed: int | None) -> None:
    """Seed Python, numpy and paddle so CPU runs repeat exactly."""
    if seed is None:
        return
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


@dataclass
class Built:
    """Everything `train`/`evaluate` build from a config, before anything runs."""

    data: Data
    net: paddle.nn.Layer
    model: paddle.Model
    loss: paddle.nn.Layer
    metrics: list
    optimizer: object = None
    schedule: object = None
    clock: object = None
    world: World = World()
    batch: dict = field(default_factory=dict)
    accumulated: object = None  # the AccumulatedLoss when accumulate_steps > 1
    batches: int | None = None    # with Global.max_updates: train batches of the whole run
    epochs: int | None = None     # epochs to train (Global.epochs, or what max_updates takes)
    plan: dict | None = None      # what the LR schedule is planned for (replan.py)
    scaler: object = None         # the float16 loss scaler when AMP is on (training/amp.py)


@locating
def build(cfg: Config, train: bool = True) -> Built:
    """Build data, network, loss, metrics and (when training) schedule and optimizer.

    Under `paddle.distributed.launch` this first joins the process group; every process
    builds the same network from the same seed and reads its own shard of the data.
    """
    glob = cfg["Global"]
    world = current_world()
    # a global batch that does not split fails here, before any process waits for others
    batch = batch_sizes(cfg, world) if train else {}
    device = select_device(glob["device"])
    amp = cfg["AMP"]
    if train:
        require_amp_device(amp, device)
    join_process_group(world, glob["dist_timeout"])
    seed_everything(glob["seed"])
    with setup_stage("DataLoader", "reading the data"):
        data = build_data(data_spec(cfg), train=train, evaluate=True, world=world)
    with setup_stage("Arch", "building the model"):
        net = build_model(cfg["Arch"], seed=glob["seed"])
        if cfg["Arch"]["sync_bn"]:
            net = sync_batch_norm(net, device)
    if glob["pretrained_model"]:
        with setup_stage("Global.pretrained_model", "loading the weights"):
            path = load_into(net, glob["pretrained_model"])
            check_same_network(path, cfg["Arch"])
        log.info("loaded weights from %s", path)
    with setup_stage("Loss", "building the loss and metrics"):
        loss = build_loss(cfg["Loss"])
        metrics = build_metrics(cfg["Metric"], loss, cfg["Arch"]["class_num"])
    for name, view in (("Train", data.train), ("Eval", data.eval)):
        if view is not None:
            check_forward(net, view.fallback[0], cfg["Arch"]["class_num"], name)
    sample = (data.train or data.eval).fallback[0]
    if glob["to_static"] and train:
        paddle.jit.to_static(net)  # its forward runs as a compiled program; weights unchanged
    model = paddle.Model(net, inputs=[InputSpec([None, *sample.shape], "float32", "image")])
    built = Built(data, net, model, loss, metrics, world=world, batch=batch)
    optimised_loss = _build_optimizer(cfg, built) if train else loss
    amp_configs = hapi_amp_configs(amp) if train else None
    if amp_configs:
        autocast_forward(net, amp)
    model.prepare(built.optimizer, optimised_loss, metrics, amp_configs=amp_configs)
    built.scaler = attach_loss_scaler(model, amp_configs)
    return built


def _build_optimizer(cfg: Config, built: Built):
    """Set the run's schedule, clock and optimizer on `built`; return the loss to optimise
    (the loss itself, or its accumulating wrapper with `Optimizer.accumulate_steps` > 1)."""
    section, data = cfg["Optimizer"], built.data
    k = section["accumulate_steps"]
    lr = dict(section["lr"], learning_rate=scaled_learning_rate(
        section["lr"]["learning_rate"], built.batch["per_update"],
        section["lr"]["base_batch_size"], section["lr"]["scale_rule"]))
    built.batch["learning_rate"] = lr["learning_rate"]
    updates = -(-len(data.train_loader) // k)  # ceil: the last, partial group updates too
    length = _plan_updates(cfg, built, len(data.train_loader), updates)
    with setup_stage("Optimizer", "building the optimizer and LR schedule"):
        schedule, built.clock = build_schedule(lr, length, updates)
        built.schedule = ScaledLR(schedule)
        built.optimizer = build_optimizer(section, built.net.parameters(), built.schedule)
    if k == 1:
        return built.loss
    if len(data.train_loader) % k:
        log.info("Optimizer.accumulate_steps=%d does not divide the %d batches of an "
                 "epoch: each epoch's last update is the mean gradient of its last %d "
                 "batches (weighted by its real size).", k, len(data.train_loader),
                 len(data.train_loader) % k)
    built.accumulated = AccumulatedLoss(built.loss, k)
    return built.accumulated


def _plan_updates(cfg: Config, built: Built, batches: int, updates: int) -> float:
    """Set the epochs to train on `built` (with `Global.max_updates`: the epochs it takes,
    the last one partial, and the run's batch count); return the schedule's length in
    epochs. The config is not changed: `train` records the planned epochs in its copy."""
    glob, k = cfg["Global"], cfg["Optimizer"]["accumulate_steps"]
    built.epochs = glob["epochs"]
    if not glob["max_updates"]:
        return glob["epochs"]
    full, rest = divmod(glob["max_updates"], updates)
    built.epochs = full + (1 if rest else 0)
    built.batches = full * batches + rest * k if rest else None
    log.info("Global.max_updates %d = %d epoch(s) of %d updates%s; Global.epochs set to %d",
             glob["max_updates"], full, updates, f" + {rest} updates" if rest else "",
             built.epochs)
    return glob["max_updates"] / updates


def batch_sizes(cfg: Config, world: World) -> dict:
    """Samples per device, per step over all processes, and per optimizer update."""
    per_device = per_device_batch_size(cfg["DataLoader"]["Train"], world)
    k = cfg["Optimizer"]["accumulate_steps"]
    return {"per_device": per_device, "processes": world.size,
            "global": per_device * world.size, "per_update": per_device * world.size * k}


def _describe_batch(cfg: Config, built: Built) -> str:
    b, lr = built.batch, cfg["Optimizer"]["lr"]
    text = (f"batch size {b['per_device']} per device x {b['processes']} process(es) = "
            f"global batch {b['global']}")
    if b["per_update"] != b["global"]:
        text += f" (x accumulate_steps = {b['per_update']} samples per update)"
    if lr["base_batch_size"] is not None:
        text += (f"; learning rate {lr['learning_rate']:g} x ({b['per_update']} / "
                 f"{lr['base_batch_size']}, {lr['scale_rule']} rule) = {b['learning_rate']:g}")
    return text


@dataclass
class TrainResult:
    """What `train` returns: where the run lives, its summary and per-epoch history."""

    run_dir: Path
    summary: dict
    history: list = field(default_factory=list)
    model: paddle.Model | None = None


@locating
def train(cfg: Config, callbacks: list = ()) -> TrainResult:
    """Train the model a config describes; everything about the run goes to its run directory.

    Order: lock a resumed run's directory (before anything in it is read), build (validates
    data, so a bad input leaves no run directory behind), create the run directory (or
    reopen the resumed one), write config.yaml, train, write summary.json and the report.
    `callbacks` are added to the run's own (they receive every evaluation in `on_eval_end`;
    one with a `stop_reason` that stops training gives the run's stop reason).
    """
    if (cfg["Arch"].get("finetune") or {}).get("mode") == "predict_only":
        raise OptionError("Arch.finetune.mode: predict_only trains nothing; evaluate the "
                          "pretrained weights with tools/eval.py -o Arch.pretrained=<weights>.")
    built = build(cfg, train=True)
    if built.epochs != cfg["Global"]["epochs"]:  # planned from Global.max_updates
        cfg = cfg.with_global(epochs=built.epochs)
    cfg, resume, resume_state, lock = _resume_point(cfg, built.world)
    try:
        if resume is not None:
            restore_checkpoint(built, resume, cfg)
        run_dir = None
        if built.world.primary:
            run_dir, lock = open_run(cfg, built, resume, lock, resume_state)
        return _train(cfg, built, run_dir, resume, resume_state, callbacks)
    finally:
        if lock is not None:
            lock.release()


def _resume_point(cfg: Config, world: World):
    """(config, Resume or None, its saved state, the run's lock): rank 0 decides what the
    run continues from (`Global.checkpoints`, or `Global.resume: auto`), takes the run's
    lock before reading anything in it, reads and checks the checkpoint. The other
    data-parallel processes receive all of it from rank 0 over the process group, so no
    node but rank 0's needs the run directory (a shared file system is not required)."""
    lock, share = None, (None, None, None)
    if world.primary:
        try:
            cfg = _auto_resume(cfg)
            pointer = cfg["Global"]["checkpoints"]
            lock = RunLock(run_dir_of(pointer)).acquire() if pointer else None
            resume = locate(pointer) if pointer else None
            if resume is not None:
                resume.loaded = resume.load()
            check_epochs_left(resume, cfg["Global"]["epochs"])
            check_not_stopped(resume, resume.loaded[2] if resume else None)
            share = (pointer, resume, None)
        except UserError as exc:
            if lock is not None:
                lock.release()
            broadcast_object((None, None, str(exc)), world)
            raise
    pointer, resume, error = broadcast_object(share, world)
    if error is not None:
        raise UserError(f"rank 0: {error}")
    if not world.primary and pointer:
        cfg = _with_checkpoints(cfg, pointer)
    return cfg, resume, resume.loaded[2] if resume else None, lock


def _with_checkpoints(cfg: Config, pointer) -> Config:
    return cfg.with_global([f"Global.checkpoints={pointer}"], checkpoints=str(pointer))


def _auto_resume(cfg: Config) -> Config:
    """With `Global.resume` (auto, or latest from `tools/train.py --resume`) and no
    `Global.checkpoints`, the config continuing the newest unfinished run of the experiment
    (one with a resume checkpoint, not finished). With none: `auto` starts a new run (a
    restarted job's same command goes on where it stopped), `latest` is an error saying
    what is there."""
    glob = cfg["Global"]
    if glob["resume"] == "never" or glob["checkpoints"]:
        return cfg
    label = "--resume" if glob["resume"] == "latest" else "Global.resume: auto"
    run_dir, _ = latest_unfinished_run(glob["output_dir"], glob["experiment"])
    if run_dir is None and glob["resume"] == "latest":
        raise UserError(f"--resume: no unfinished run to continue: "
                        f"{nothing_to_resume(glob['output_dir'], glob['experiment'])}")
    if run_dir is None:
        log.info("%s: no unfinished run of %s; starting one", label, glob["experiment"])
        return cfg
    log.info("%s: continuing %s, the newest unfinished run", label, run_dir)
    return _with_checkpoints(cfg, run_dir)


def _train(cfg: Config, built: Built, run_dir: Path | None, resume, resume_state,
           extra) -> TrainResult:
    """Fit, then write the summary; with every epoch already trained (a run killed while
    writing its final files) only the callbacks' end of training runs."""
    glob = cfg["Global"]
    done = resume.epoch if resume else 0
    stopped = bool(resume_state and resume_state.get("stopped"))
    saved = {"signature": signature(cfg), "plan": built.plan or plan_of(cfg)}
    stop = StopRequest()
    callbacks = RunCallbacks(cfg, built, run_dir, resume, resume_state, extra, saved,
                             stop=stop if glob["preemption"] else None)
    callbacks.keeper.check_restorable()
    handler = attach_log_file(run_dir / "train.log") if run_dir else None
    _log_start(cfg, built, run_dir)
    if done == glob["epochs"] or stopped:
        log.info("%s before the process ended; writing its final files",
                 f"a callback stopped the run after epoch {done}" if stopped
                 else f"all {done} epochs were trained")
    status, failure = "failed", None
    try:
        with _worker_failures(), stop_requests(stop):
            _fit(cfg, built, callbacks, resume, train=done < glob["epochs"] and not stopped)
        status = "completed"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except Preempted:
        status = "preempted"
        raise
    except TrainingDiverged as exc:
        status, failure = "diverged", str(exc)
        raise
    except RuntimeError as exc:
        lost = peer_lost(exc, built.world)  # None: not a lost peer
        failure = str(lost or exc)
        raise (lost or exc) from None
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            raise
        failure = f"cannot write {exc.filename or 'a file'}: {exc.strerror}"
        raise UserError(f"{failure}. Training stopped; the checkpoints written before are "
                        "intact. Free some space (or fix the permissions) and continue with "
                        f"-o Global.checkpoints={run_dir}.") from None
    finally:
        summary = _finish(cfg, built, callbacks, run_dir, status, failure,
                          callbacks.keeper.wall_seconds())
        if handler is not None:
            logging.getLogger("paddle_suite").removeHandler(handler)
            handler.close()
    return TrainResult(run_dir, summary, callbacks.recorder.history, built.model)


def _fit(cfg: Config, built: Built, callbacks: RunCallbacks, resume, train: bool) -> None:
    """Train the epochs left (from a mid-epoch checkpoint: the rest of its epoch first), or
    with nothing left to train, run only the callbacks' end of training."""
    loader = built.data.train_loader
    if not train:
        end_training(built.model, callbacks.all, len(loader))
        return
    done, batches = (resume.epoch, resume.step) if resume else (0, 0)
    left = built.batches - done * len(loader) - batches if built.batches else None
    built.model.fit(loader, None, epochs=cfg["Global"]["epochs"] - done, verbose=0,
                    callbacks=callbacks.all, num_iters=left,
                    accumulate_grad_batches=cfg["Optimizer"]["accumulate_steps"])


def _log_start(cfg: Config, built: Built, run_dir: Path | None) -> None:
    world, data = built.world, built.data
    log.info("run directory: %s", run_dir if run_dir else f"written by rank 0 (this is "
             f"rank {world.rank} of {world.size})")
    log.info(_describe_batch(cfg, built))
    for note in getattr(cfg, "notes", ()):
        log.info("%s", note)
    if data.skipped:
        log.warning("skipped %d bad samples (DataLoader.skip_bad_samples); listed in "
                    "bad_samples.json", len(data.skipped))
    shards = f" ({world.size} shards)" if world.parallel else ""
    log.info("train samples %d, eval samples %d%s, steps/epoch %d, LR steps per %s",
             len(data.train), len(data.eval) if data.eval else 0, shards,
             len(data.train_loader), built.clock.step_on)


def _finish(cfg: Config, built: Built, callbacks: RunCallbacks, run_dir: Path | None,
            status: str, failure: str | None, wall: float) -> dict:
    """The run's summary; rank 0 writes it with the report."""
    summary = _summary(callbacks, status, wall, cfg["Global"]["epochs"], failure)
    summary["batch_size"] = {k: v for k, v in built.batch.items() if k != "learning_rate"}
    if status == "completed":
        summary.update(_final_weights(built, callbacks, run_dir))
    last = callbacks.collector.last() if callbacks.collector is not None else None
    if last is not None:
        summary["eval_output_spread"] = output_spread(last[0])
    summary["diagnosis"] = diagnose(callbacks.recorder.history, cfg["Arch"]["class_num"],
                                    setup=setup_of(cfg["Arch"], summary, cfg["Optimizer"]))
    summary.update(_transfer_summary(built.net))
    if run_dir is not None:
        try:
            write_json(run_dir / "summary.json", summary)
        except OSError as exc:  # a full disk: the error that stopped the run says more
            log.warning("could not write %s: %s", run_dir / "summary.json", exc.strerror)
            _close_visualdl(callbacks, run_dir)
            return summary
        if cfg["Report"] and status != "preempted":  # a preempted run has seconds to go
            _report(run_dir, callbacks, built)
        _close_visualdl(callbacks, run_dir)
    log.info("%s", outcome(summary), extra={"console": False})  # tools/train.py prints it last
    return summary


def outcome(summary: dict) -> str:
    """A run's result in one line of words: the final evaluation of the monitored metric (what
    the final weights give), the best one and its epoch, and why the run ended."""
    name = summary["best_metric"]
    label = metric_label(name)
    parts = []
    if name in summary.get("final_eval", {}):
        parts.append(f"final {label} {shown_value(name, summary['final_eval'][name])}")
    if summary.get("best_epoch") is not None:
        parts.append(f"best {shown_value(name, summary['best_value'])} at epoch "
                     f"{summary['best_epoch']}")
    return ", ".join(parts or [f"no evaluation of {name}"]) + f"; {summary['stop_reason']}"


@contextlib.contextmanager
def _worker_failures():
    """Turn paddle's report of a failed or killed DataLoader worker into one clear error.

    Paddle re-raises a worker's exception in its loader thread, where Python would print a
    traceback of paddle internals; the thread's exception is kept instead, and the worker's
    own last message goes into the error the main thread raises.
    """
    seen: list[str] = []
    previous = threading.excepthook

    def keep_loader_errors(args):
        if args.thread is not None and "_thread_loop" in args.thread.name:
            seen.append(str(args.exc_value).strip().splitlines()[-1])
        else:
            previous(args)

    threading.excepthook = keep_loader_errors
    try:
        yield
    except SystemError as exc:
        if "queue is killed" not in str(exc) and "DataLoader" not in str(exc):
            raise
        if seen:
            raise DataError(f"A DataLoader worker failed while reading the data: {seen[0]} "
                            "Fix the data set, or leave such samples out with "
                            "DataLoader.skip_bad_samples: true.") from None
        raise DataError("A DataLoader worker failed while reading the data (it was killed, or "
                        "its error is printed above). Run with DataLoader.Train.num_workers=0 "
                        "to have the failing file named, or fix the data set.") from None
    finally:
        threading.excepthook = previous


def _transfer_summary(net) -> dict:
    """What pretrained loading and fine-tuning did, for summary.json."""
    out = {}
    report = getattr(net, "pretrained_report", None)
    if report:
        out["pretrained"] = {"file": report["file"], "loaded": len(report["loaded"]),
                             "skipped_shape": report["skipped_shape"],
                             "missing": report["missing"], "unexpected": report["unexpected"]}
    tuned = getattr(net, "finetune_report", None)
    if tuned:
        out["finetune"] = {"trainable": len(tuned["trainable"]), "frozen": len(tuned["frozen"]),
                           "lr_mult": tuned["lr_mult"]}
    return out


def _close_visualdl(callbacks: RunCallbacks, run_dir: Path) -> None:
    """The VisualDL log's end-of-run pictures (the report's, drawn once); never fatal."""
    if callbacks.visualdl is None:
        return
    try:
        callbacks.visualdl.finish(run_dir)
    except Exception as exc:  # noqa: BLE001 - a failed picture must not hide the run's result
        log.warning("could not finish the VisualDL log: %s: %s", type(exc).__name__, exc)


def _report(run_dir: Path, callbacks: RunCallbacks, built: Built) -> None:
    """learning_curves.png, confusion matrix, per-class metrics and report.md; never fatal."""
    try:
        last = callbacks.collector.last()
        probs, labels = last if last is not None else (None, None)
        view = built.data.eval
        same = view is not None and probs is not None and len(probs) == len(view)
        write_report(run_dir, probs, labels, built.data.class_names,
                     image_of=(lambda i: raw_image(view, i)) if same else None)
    except Exception as exc:  # noqa: BLE001 - a failed plot must not hide the run's result
        log.warning("could not write the run report: %s: %s", type(exc).__name__, exc)


def _scalars(logs: dict) -> dict:
    return {k: float(np.asarray(v).reshape(-1)[0]) for k, v in logs.items()
            if k not in ("step", "epoch", "eval_seconds")}


def _final_weights(built: Built, callbacks: RunCallbacks, run_dir: Path | None) -> dict:
    """Save the weights training ends with (rank 0); re-evaluate them when they were
    restored, or when this process saw no evaluation of them (a run finished after a kill
    during its final writes); every rank: evaluation is collective. Check the replicas
    agree."""
    out = {"final_weights": "last epoch"}
    if built.world.parallel:
        out["replicas_identical"] = replicas_identical(built.net, built.world)
    if run_dir is not None:
        # a link to the last epoch's weights unless a callback restored others
        callbacks.store.save(built.net.state_dict(), run_dir / "checkpoints" / "final.pdparams")
    restored = bool(callbacks.early and callbacks.early.restored)
    unseen = (callbacks.collector is not None and callbacks.collector.last() is None
              and bool(callbacks.recorder.last_eval))  # evaluated before a resume
    if not (restored or unseen) or built.data.eval_loader is None:
        return out
    out["final_eval"] = _scalars(built.model.evaluate(built.data.eval_loader, verbose=0))
    if restored:
        out["final_weights"] = (f"best of epoch {callbacks.early.state.best_epoch} "
                                "(restored by early stopping)")
    return out


def weights_digest(net) -> str:
    """SHA-256 over every parameter and buffer, in name order: equal iff the weights are."""
    digest = hashlib.sha256()
    for name, value in sorted(net.state_dict().items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(value.numpy()).tobytes())
    return digest.hexdigest()


def replicas_identical(net, world: World) -> bool:
    """Whether every process holds the same weights (collective); logs this rank's digest."""
    digest = weights_digest(net)
    same = same_on_all_ranks(float(int(digest[:12], 16)), world)  # 48 bits: exact in float64
    log.info("rank %d of %d: final weights sha256 %s", world.rank, world.size, digest)
    if not same:
        log.warning("the processes ended with different weights: data-parallel training "
                    "went out of step (see each rank's weights digest in its log)")
    return same


def _summary(callbacks: RunCallbacks, status: str, wall: float, epochs: int,
             failure: str | None) -> dict:
    recorder, monitor, state = callbacks.recorder, callbacks.monitor, callbacks.state
    history = recorder.history
    ran = len(history)
    final_eval = _scalars(recorder.last_eval)
    reason = callbacks.stop_reason() or {
        "completed": f"completed {ran} of {epochs} epochs",
        "interrupted": f"interrupted by the user after {ran} epochs",
        "diverged": failure, "failed": f"failed after {ran} epochs",
        "preempted": f"preempted after {ran} epochs and {state.epoch_batches} batches; "
                     "continue with Global.resume: auto"}[status]
    return {
        "status": status,
        "best_metric": monitor.name, "best_value": state.best_value,
        "best_epoch": state.best_epoch,
        "final_eval_epoch": recorder.last_eval.get("epoch"),
        "final_eval_step": recorder.last_eval.get("step"),
        "final_eval": final_eval,
        "epochs_run": ran, "epochs_planned": epochs, "stop_reason": reason,
        "wall_seconds": round(wall, 3),
        "train_samples_per_second": round(state.train_samples / state.train_seconds, 1)
        if state.train_seconds else None,
        "final_lr": history[-1]["lr"] if history else None,
        **callbacks.summary(),
    }


@locating
def evaluate(cfg: Config, weights: str | None = None) -> dict:
    """Evaluate weights (`weights` or Global.pretrained_model) on the eval data.

    Returns top-k accuracy, the mean loss, per-class accuracy and sample counts.
    """
    if weights:
        cfg = cfg.with_global(pretrained_model=weights)
    if not cfg["Global"]["pretrained_model"] and not isinstance(cfg["Arch"].get("pretrained"), str):
        raise OptionError("Global.pretrained_model: set it to a checkpoint or run directory "
                          "to evaluate (e.g. -o Global.pretrained_model=logs/exp/run), or "
                          "Arch.pretrained to evaluate partially matching weights.")
    if cfg["DataLoader"]["Eval"] is None:
        raise OptionError("DataLoader.Eval: evaluation needs an Eval data set.")
    built = build(cfg, train=False)
    results = {k: float(np.asarray(v).reshape(-1)[0])
               for k, v in built.model.evaluate(built.data.eval_loader, verbose=0).items()}
    built.data.failures.check()
    collector = next(m for m in built.metrics if isinstance(m, PredictionCollector))
    probs, labels = collector.last()  # gathered during that same evaluation pass
    pred = probs.argmax(axis=1)
    per_class = {}
    for index, name in enumerate(built.data.class_names):
        mask = labels == index
        per_class[name] = {"accuracy": float((pred[mask] == index).mean()) if mask.any() else None,
                           "samples": int(mask.sum())}
    pointer = cfg["Global"]["pretrained_model"] or cfg["Arch"]["pretrained"]
    return {"weights": str(weights_path(pointer)), "samples": int(len(labels)),
            **results, "per_class": per_class}
