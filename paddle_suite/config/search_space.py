"""Search spaces over any config key, validated against the base config before any trial."""
from __future__ import annotations

from typing import Any, Literal

from ..core.schema import check_kwargs
from ..errors import ConfigError
from ..visual.hparams import lookup
from .loader import load_config

KINDS = ("uniform", "loguniform", "int", "categorical", "grid")


def dimension(type: Literal["uniform", "loguniform", "int", "categorical", "grid"],
              low: float | None = None, high: float | None = None, step: float | None = None,
              log: bool = False, choices: list | None = None, values: list | None = None):
    """Keys of one search dimension: `{type: loguniform, low: 1e-4, high: 1e-1}`,
    `{type: int, low: 16, high: 128, step: 16}`, `{type: categorical, choices: [a, b]}`,
    `{type: grid, values: [...]}` (explicit values, for the grid sampler)."""


def check_dimension(path: str, spec: dict) -> dict:
    """Validate one dimension: ranges non-empty and ordered, log bounds positive."""
    spec = check_kwargs(dimension, spec, path)
    kind = spec["type"]
    if kind in ("uniform", "loguniform", "int"):
        if spec["low"] is None or spec["high"] is None:
            raise ConfigError(f"{path}: a {kind} dimension needs low and high.")
        if not spec["low"] < spec["high"]:
            raise ConfigError(f"{path}: empty or inverted range [{spec['low']}, {spec['high']}]; "
                              "low must be below high.")
        if (kind == "loguniform" or spec["log"]) and spec["low"] <= 0:
            raise ConfigError(f"{path}: a log-uniform range needs positive bounds, got "
                              f"low={spec['low']}.")
    elif not (spec["choices"] if kind == "categorical" else spec["values"]):
        raise ConfigError(f"{path}: list at least one value "
                          f"({'choices' if kind == 'categorical' else 'values'}).")
    return spec


def sample_value(spec: dict) -> Any:
    """A representative value of a dimension (used to validate the key against the schema)."""
    if spec["type"] == "categorical":
        return spec["choices"][0]
    if spec["type"] == "grid":
        return spec["values"][0]
    return int(spec["low"]) if spec["type"] == "int" else spec["low"]


def overrides_for(key: str, value) -> list[str]:
    """`-o` override strings for a space key; 'a.b,c.d' (linked keys, e.g. a resize size and
    a crop size that must move together) sets every listed key to the same value."""
    import yaml
    text = yaml.safe_dump(value, default_flow_style=True).strip()
    text = text[:-4].strip() if text.endswith("\n...") else text.removesuffix("...").strip()
    return [f"{part.strip()}={text}" for part in key.split(",")]


def override(key: str, value) -> str:
    """The `-o` override string for one config key."""
    return overrides_for(key, value)[0]


def base_values(space: dict, base, base_overrides: list[str]) -> dict:
    """The base config's own value of every space key (a linked key: its first), checked to
    lie inside its dimension: the parameters of a trial that scores the starting point."""
    cfg = load_config(base, base_overrides)
    values = {}
    for key, spec in space.items():
        value = lookup(cfg, key.split(",")[0].strip())
        kind = spec["type"]
        inside = value in (spec["choices"] if kind == "categorical" else spec["values"]) \
            if kind in ("categorical", "grid") else \
            isinstance(value, (int, float)) and spec["low"] <= value <= spec["high"]
        if not inside:
            raise ConfigError(f"study.baseline: the base config's {key} is {value!r}, outside "
                              f"space.{key}; widen the dimension to include it, or set "
                              "baseline: false.")
        values[key] = value
    return values


def check_space(space: dict, base, base_overrides: list[str]) -> dict:
    """Validate every dimension and that every key is a valid key of the base config."""
    if not isinstance(space, dict) or not space:
        raise ConfigError("space: list at least one config key to search, e.g. "
                          "Optimizer.lr.learning_rate: {type: loguniform, low: 1e-4, high: 0.1}.")
    checked = {}
    for key, spec in space.items():
        checked[key] = check_dimension(f"space.{key}", spec)
        try:
            load_config(base, base_overrides + overrides_for(key, sample_value(checked[key])))
        except ConfigError as exc:
            raise ConfigError(f"space.{key}: this key does not fit the base config {base}: "
                              f"{exc}") from None
    return checked


