"""A search config (what tools/tune.py reads): the base training config, the overrides every
trial gets, the `study` options and the `space` (config/search_space.py), checked whole
before any trial runs. tuning/search.py runs it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..callbacks.monitor import infer_mode
from ..core.schema import check_kwargs
from ..errors import ConfigError, OptionError
from .loader import (
    apply_override,
    load_config,
    option_errors_at,
    parse_override,
    read_yaml,
)
from .search_space import base_values, check_space
from .validate import check_name


@dataclass
class StudyOptions:
    """Keys of the `study` section of a search config."""

    name: str = "search"
    sampler: Literal["grid", "random", "tpe"] = "tpe"
    pruner: Literal["none", "median", "hyperband"] = "none"
    metric: str = "acc"
    n_trials: int | None = 20
    timeout: float | None = None      # seconds of wall time for the whole search
    seed: int = 0
    storage: str | None = None        # e.g. postgresql://user:pass@host/db; default SQLite
    startup_trials: int = 3           # trials before the median pruner acts
    warmup_epochs: int = 1            # epochs of a trial before a pruner may stop it
    heartbeat: int = 10               # seconds between a running trial's signs of life
    grace_period: int = 60            # seconds of silence before a running trial is failed
    seeds: list[int] | None = None    # train each trial once per Global.seed; value: the mean
    baseline: bool = False            # first trial: the base config's own values
    score: Literal["best", "final"] = "best"  # a run's value: its best or its last evaluation


def search_sections(base: str = "", overrides: list[str] = (), study: dict | None = None,
                    space: dict | None = None):
    """Top-level keys of a search config."""


def resolve_base(search_path: str | Path, base: str) -> Path:
    """The training config a search's `base:` names: a path relative to the search file's
    folder, else to the current directory, else to the suite's own checkout (so a search
    config copied elsewhere can say `base: configs/lenet.yaml`)."""
    if not base:
        raise ConfigError(f"{search_path}: base: name the training config the search starts "
                          "from.")
    folders = [Path(search_path).parent, Path.cwd(), Path(__file__).resolve().parents[2]]
    for folder in folders:
        candidate = (folder / base).resolve()
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(f) for f in folders)
    raise ConfigError(f"{search_path}: base: {base!r} is not a file relative to the search "
                      f"file, the current directory or the suite (tried {tried}).")


def load_search(path: str | Path, overrides: list[str] = ()) -> dict:
    """Read and validate a search config; every space key is checked against the base.

    `overrides` are `-o` strings: `study.<key>=value` sets a study option (e.g.
    `study.n_trials=2`), anything else is a training-config override added to the search's
    own `overrides` for every trial (e.g. `Global.epochs=1`).
    """
    data, lines = read_yaml(path)
    with option_errors_at(path, lines, [o for o in overrides if o.startswith("study.")]):
        return _check_search(path, data, overrides)


def _check_search(path, data: dict, overrides: list[str]) -> dict:
    data = check_kwargs(search_sections, data, "search")
    data["study"] = dict(data["study"] or {})
    data["overrides"] = list(data["overrides"])
    for text in overrides:
        if parse_override(text)[0][0] == "study":
            apply_override(data, text)
        else:
            data["overrides"].append(text)
    base = resolve_base(path, data["base"])
    overrides = list(data["overrides"])
    load_config(base, overrides)
    study = check_kwargs(StudyOptions, data["study"] or {}, "study")
    if not 1 <= study["heartbeat"] < study["grace_period"]:
        raise OptionError("study.grace_period: must be longer than study.heartbeat (>= 1 s), "
                          "or live trials would be failed.")
    check_name(study["name"], "study.name")
    if study["warmup_epochs"] < 1:
        raise OptionError("study.warmup_epochs: must be at least 1 (epochs a trial trains "
                          "before a pruner may stop it).")
    if study["seeds"] is not None and len(set(study["seeds"])) != len(study["seeds"]):
        raise OptionError(f"study.seeds: {study['seeds']} repeats a seed; a CPU run with the "
                          "same seed repeats exactly, so it adds time and no information.")
    space = check_space(data["space"], base, overrides)
    if study["sampler"] == "grid" and any(s["type"] not in ("grid", "categorical")
                                          for s in space.values()):
        raise OptionError("study.sampler: grid needs explicit values for every dimension "
                          "(type: grid, values: [...] or type: categorical).")
    infer_mode(study["metric"])
    baseline = base_values(space, base, overrides) if study["baseline"] else None
    return {"base": base, "overrides": overrides, "study": study, "space": space,
            "source": str(path), "baseline": baseline}
