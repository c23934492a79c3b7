"""Training a run longer than it was planned: the LR schedule decides what that means.

A schedule whose shape depends on the run's length (Cosine, Polynomial, Linear, OneCycle)
has ended when the planned epochs are done: continuing it would train the extra epochs at
its final LR (0 for the default cosine). Resuming with another `Global.epochs` is then
refused, naming the choices, unless the schedule is re-planned: `Optimizer.lr.replan: true`
(or any change to the `Optimizer.lr` section) builds the configured schedule afresh over
the remaining epochs, starting at the resume point. Schedules that do not depend on the
length (Constant, Step, MultiStep, Exponential, CosineWarmRestarts, Cyclic) simply go on.
"""
from __future__ import annotations

import logging

from ..errors import OptionError
from ..training.optim import build_schedule

log = logging.getLogger("paddle_suite")
LENGTH_DEPENDENT = ("Cosine", "Polynomial", "Linear", "OneCycle")


def plan_of(cfg: dict, start: int = 0) -> dict:
    """What a run's schedule was planned for: the LR section, the epochs, the start."""
    lr = {k: v for k, v in cfg["Optimizer"]["lr"].items() if k != "replan"}
    return {"lr": lr, "epochs": cfg["Global"]["epochs"], "start": start}


def replan_decision(saved: dict | None, cfg: dict, done: int) -> str:
    """'continue', 'replan' or raise OptionError, for a resume after `done` epochs."""
    if saved is None:  # a checkpoint from before plans were saved
        return "continue"
    now = plan_of(cfg)
    lr_changed = saved["lr"] != now["lr"]
    if cfg["Optimizer"]["lr"].get("replan") or lr_changed:
        return "replan"
    if now["epochs"] == saved["epochs"] or saved["lr"]["name"] not in LENGTH_DEPENDENT:
        return "continue"
    name = saved["lr"]["name"]
    raise OptionError(
        f"Global.epochs: this run's {name} schedule was planned for {saved['epochs']} epochs "
        f"and ends there; training it to {now['epochs']} would run the extra epochs at its "
        "final LR. Choose: a new schedule for the remaining epochs (e.g. -o "
        "Optimizer.lr.name=Constant -o Optimizer.lr.learning_rate=1.0e-4; any change to "
        f"Optimizer.lr re-plans it from epoch {done + 1}), or -o Optimizer.lr.replan=true to "
        f"run the same {name} again over the remaining epochs.")


def replan(built, cfg: dict, done: int) -> dict:
    """Replace the wrapped schedule with the configured one over the remaining epochs;
    return the new plan (saved with later checkpoints)."""
    remaining = cfg["Global"]["epochs"] - done
    lr = dict(cfg["Optimizer"]["lr"], learning_rate=built.batch["learning_rate"])
    lr.pop("replan", None)
    schedule, _ = build_schedule(lr, remaining, built.clock.steps_per_epoch)
    built.schedule.base = schedule
    built.schedule.last_lr = built.schedule.get_lr()
    log.info("LR schedule re-planned: %s over epochs %d-%d (the remaining %d), starting at "
             "LR %.6g", lr["name"], done + 1, cfg["Global"]["epochs"], remaining,
             built.schedule.last_lr)
    return plan_of(cfg, start=done)
