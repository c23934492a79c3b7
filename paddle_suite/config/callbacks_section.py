"""The `Callbacks` config section: which optional callbacks a run uses, with their options.

    Callbacks:
      EarlyStopping: {monitor: loss, patience: 5}
      PlateauDecay: {monitor: loss, patience: 2, factor: 0.5, floor_ratio: 0.0009765625}
      EMA: {decay: 0.999}
      SWA: {start_epoch: 20}
      Snapshots: {}                 # an empty mapping enables a callback with its defaults
      Checkpoint: {monitor: acc, top_k: 3}

`false` or `null` leaves a callback out. Options are checked against each callback's
constructor; the objects the suite passes itself (scheduler, directories, loaders) are not
config keys.
"""
from __future__ import annotations

from typing import Literal

from ..callbacks.averaging import EMA, SWA
from ..callbacks.early_stopping import EarlyStopping
from ..callbacks.plateau import PlateauDecay
from ..callbacks.saliency_maps import SaliencyMaps
from ..callbacks.snapshots import Snapshots
from ..callbacks.visualdl_logger import VisualDLLogger
from ..core.schema import check_kwargs, choose, suggest
from ..errors import ConfigError


def checkpoint(monitor: str = "acc", mode: Literal["auto", "min", "max"] = "auto",
               top_k: int = 1):
    """Options of the checkpoint policy: `best.pdparams` and the top-k by `monitor`."""


CALLBACK_OPTIONS = {
    "EarlyStopping": (EarlyStopping, ()),
    "PlateauDecay": (PlateauDecay, ("scaled_lr",)),
    "EMA": (EMA, ("directory",)),
    "SWA": (SWA, ("directory", "bn_loader", "eval_loader", "sync_buffers")),
    "Snapshots": (Snapshots, ("directory", "lr_getter", "store")),
    "Checkpoint": (checkpoint, ()),
    "Saliency": (SaliencyMaps, ("view", "directory", "visualdl", "class_names")),
    "VisualDL": (VisualDLLogger, ("logdir", "hparams", "lr_getter", "collector", "tap",
                                  "class_names", "sample", "display_name")),
}
DEFAULTS = {"Checkpoint": {}, "VisualDL": {}}


def check_callbacks(section, epochs: int, metrics: list[str]) -> dict:
    """Validate the `Callbacks` section against the run's eval `metrics`; return
    {name: resolved options} of the enabled callbacks."""
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise ConfigError(f"Callbacks: expected a mapping of callback names, got {section!r}.")
    if section.get("EMA") not in (None, False):
        metrics = metrics + [f"ema_{m}" for m in metrics]
    resolved = {}
    for name, options in {**DEFAULTS, **section}.items():
        target, skip = choose(CALLBACK_OPTIONS, name, f"Callbacks.{name}", "callback")
        if options is None or options is False:
            continue
        if options is True:
            options = {}
        path = f"Callbacks.{name}"
        resolved[name] = check_kwargs(target, options, path, skip)
        check_monitor(path, resolved[name].get("monitor"), metrics)
        try:  # constructors check ranges (patience >= 1, 0 < factor < 1, ...)
            if isinstance(target, type):
                target(**{k: None for k in skip}, **resolved[name])
        except (ConfigError, ValueError) as exc:  # the library speaks of its arguments
            text = str(exc)
            key = text.split(":", 1)[0]
            raise ConfigError(f"{path}.{text}" if key in resolved[name] else f"{path}: {text}") \
                from None
    if resolved.get("Checkpoint", {}).get("top_k", 1) < 1:
        raise ConfigError("Callbacks.Checkpoint.top_k: must be at least 1.")
    swa = resolved.get("SWA")
    if swa and not 1 <= swa["start_epoch"] <= epochs:
        raise ConfigError(f"Callbacks.SWA.start_epoch: must be in [1, Global.epochs={epochs}].")
    return resolved


ALIASES = {"accuracy": "acc", "val_acc": "acc", "val_accuracy": "acc", "val_loss": "loss",
           "eval_acc": "acc", "eval_loss": "loss", "top1": "acc", "acc_top1": "acc"}


def check_monitor(path: str, monitor: str | None, available: list[str]) -> None:
    """A monitored name must be an eval metric this run produces."""
    if monitor is not None and monitor not in available:
        alias = ALIASES.get(str(monitor).lower())
        hint = f' (did you mean "{alias}"?)' if alias in available else suggest(monitor, available)
        raise ConfigError(f"{path}.monitor: {monitor!r} is not an eval metric of this run"
                          f"{hint}. Available: {', '.join(available)}.")
