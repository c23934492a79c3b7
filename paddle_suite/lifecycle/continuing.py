"""Continuing a run: its checkpoint checked against the config, its directory reopened.

The lock on the run directory is taken before anything in it is read (runs/lock.py); a
checkpoint of another model or optimizer is refused with what changed; the LR schedule is
continued or re-planned (replan.py); `metrics.jsonl` keeps the rows up to the checkpoint,
a line torn by a crash dropped.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..errors import OptionError, UserError
from ..runs.checkpoint import atomic_write_bytes, link_or_copy, load_weights
from ..runs.lock import RunLock
from ..runs.resume_checkpoint import (
    CheckpointError,
    local_optimizer_state,
    optimizer_state_problems,
)
from ..runs.rundir import create_run_dir, is_finished, read_metric_rows, write_json
from .replan import plan_of, replan, replan_decision
from .setup_checks import setup_stage

log = logging.getLogger("paddle_suite")


def check_epochs_left(resume, epochs: int) -> None:
    done = resume.epoch if resume else 0
    if done >= epochs and is_finished(resume.run_dir):
        raise OptionError(f"Global.epochs: the run in {resume.run_dir} already finished {done} "
                          f"epochs; ask for more (e.g. -o Global.epochs={done + 10}) to go on.")
    if done > epochs:
        raise OptionError(f"Global.epochs: the run in {resume.run_dir} has trained {done} "
                          f"epochs already, more than the {epochs} asked for.")


def check_not_stopped(resume, resume_state: dict | None) -> None:
    """A finished run that a callback stopped early (early stopping, the plateau floor) keeps
    that decision: training it longer is a new run from its weights."""
    if resume and resume_state and resume_state.get("stopped") and is_finished(resume.run_dir):
        raise OptionError(f"Global.checkpoints: the run in {resume.run_dir} was stopped by a "
                          f"callback after epoch {resume.epoch} and has finished; that decision "
                          f"is kept. To train its weights further, start a new run from them: "
                          f"-o Arch.pretrained={resume.run_dir}.")


def signature(cfg: dict) -> dict:
    """What a resume checkpoint must agree with: the network and the optimizer kind."""
    arch = {k: v for k, v in cfg["Arch"].items()
            if k not in ("pretrained", "finetune", "sync_bn")}  # same parameters either way
    return {"Arch": arch, "Optimizer.name": cfg["Optimizer"]["name"]}


def restore_checkpoint(built, resume, cfg: dict) -> dict:
    """Load a resume checkpoint's weights and optimizer state; return its callback state.
    A checkpoint of another model or optimizer is a clear error, not a crash."""
    network, optimizer, resume_state = resume.loaded or resume.load()
    saved = resume_state.get("signature") if isinstance(resume_state, dict) else None
    if saved is not None and saved != signature(cfg):
        now = signature(cfg)
        diff = [f"{k}: {saved.get(k)!r} then, {now[k]!r} now" for k in now
                if saved.get(k) != now[k]]
        raise CheckpointError(f"Global.checkpoints: {resume.run_dir} was trained with another "
                              f"configuration ({'; '.join(diff)}). Resume needs the run's own "
                              "Arch and optimizer; to start from its weights with a new one, "
                              f"use -o Arch.pretrained={resume.run_dir} in a new run.")
    own = {k: list(v.shape) for k, v in built.net.state_dict().items()}
    theirs = {k: list(np.shape(v)) for k, v in network.items()}
    if own != theirs:
        wrong = sorted(set(own) ^ set(theirs)) or [k for k in own if own[k] != theirs[k]]
        raise CheckpointError(f"Global.checkpoints: the weights in {resume.path} do not fit "
                              f"the configured model (Arch): they differ at {wrong[:4]}. Resume "
                              "needs the run's own Arch; to start from these weights with a "
                              f"new head, use -o Arch.pretrained={resume.run_dir} in a new run.")
    problems = optimizer_state_problems(optimizer, built.net)
    if problems:
        raise CheckpointError(f"{resume.path / 'optimizer.pdopt'}: does not fit the network "
                              f"({'; '.join(problems[:3])}); the checkpoint was altered. "
                              "Remove it to resume from the one before.")
    decision = replan_decision(resume_state.get("plan"), cfg, resume.epoch)
    built.net.set_state_dict(network)
    with setup_stage("Global.checkpoints", f"restoring the optimizer state of {resume.path}"):
        built.optimizer.set_state_dict(local_optimizer_state(optimizer, built.net))
    built.plan = replan(built, cfg, resume.epoch) if decision == "replan" else \
        resume_state.get("plan") or plan_of(cfg)
    return resume_state


def open_run(cfg: dict, built, resume, lock, resume_state: dict | None = None):
    """(run directory, its lock): a new directory with its config.yaml, or the resumed one
    (rows after its checkpoint dropped; `lock` already held). Nothing is written before
    the lock is held."""
    if resume is not None:
        run_dir = resume.run_dir
        states = (resume_state or {}).get("callbacks") or {}
        keep_rows_until(run_dir / "metrics.jsonl", resume.epoch,
                        (states.get("recorder") or {}).get("history"))
        check_kept_weights(run_dir, resume, (states.get("clock") or {}).get("best_epoch"))
    else:
        glob = cfg["Global"]
        with setup_stage("Global.output_dir", f"creating a run directory under "
                                              f"{glob['output_dir']}"):
            run_dir = create_run_dir(glob["output_dir"], glob["experiment"],
                                     name=glob["run_name"])
        lock = RunLock(run_dir).acquire()
        (run_dir / "config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")
    if built.data.skipped:
        write_json(run_dir / "bad_samples.json", {"count": len(built.data.skipped),
                                                  "samples": built.data.skipped})
    return run_dir, lock


def check_kept_weights(run_dir: Path, resume, best_epoch) -> None:
    """The weights files a resumed run keeps beside its resume checkpoints (best, top-k,
    EMA, SWA) must still load: a damaged `best.pdparams` of the resumed epoch is written
    again from the checkpoint; any other damaged file is set aside as `<name>.damaged`,
    with a warning (its epoch's weights are no longer kept)."""
    folder = run_dir / "checkpoints"
    for path in sorted(folder.glob("*.pdparams")) if folder.is_dir() else []:
        if path.name in ("last.pdparams", "final.pdparams"):
            continue  # a link into the checkpoint; written again at the end
        try:
            load_weights(path)
            continue
        except UserError as exc:
            problem = str(exc)
        if path.name == "best.pdparams" and best_epoch == resume.epoch and not resume.step:
            link_or_copy(resume.path / "network.pdparams", path)  # as the store would
            log.warning("%s was damaged (%s); written again from the checkpoint of epoch %d, "
                        "its best", path, problem, resume.epoch)
        else:
            path.replace(path.with_name(path.name + ".damaged"))
            log.warning("%s was damaged (%s); set aside as %s.damaged: its epoch's weights "
                        "are no longer kept", path, problem, path.name)


def keep_rows_until(path: Path, epoch: int, history: list | None = None) -> None:
    """metrics.jsonl as it was at the end of `epoch`: rows of later epochs (written before a
    crash, redone now) dropped; a file deleted or cut short is rewritten from the resume
    checkpoint's own copy of the rows (`history`)."""
    rows, torn = read_metric_rows(path) if path.exists() else ([], 0)
    if torn:
        log.warning("%s: dropped %d unreadable line(s) (a write cut short by a crash)", path,
                    torn)
    kept = [row for row in rows if row["epoch"] <= epoch]
    if history and [r["epoch"] for r in kept] != [r["epoch"] for r in history]:
        log.warning("%s: %s; rewritten from the resume checkpoint's %d rows", path,
                    "missing" if not path.exists() else "not the rows the checkpoint recorded",
                    len(history))
        kept = history
    atomic_write_bytes(path, "".join(json.dumps(row, allow_nan=True) + "\n"
                                     for row in kept).encode("utf-8"))
