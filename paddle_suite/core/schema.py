"""Check keyword arguments from a config against the signature of the callable they feed.

Every config section is validated the same way: the function (or dataclass) that consumes it
*is* its schema. Parameter names are the allowed keys, annotations are the types, defaults fill
what the user left out. Unknown keys get a "did you mean" suggestion.
"""
from __future__ import annotations

import difflib
import inspect
import math
import re
import types
import typing
from typing import Any, Callable, Iterable

from ..errors import OptionError

MAX_INT = 2**32 - 1      # no integer option needs more (a seed is at most this)
MAX_MAGNITUDE = 1e12     # no float option needs more
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean "x"?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def choose(registry: dict, name: Any, path: str, what: str):
    """Look `name` up in an allow-list dict; the error lists every allowed name."""
    if not isinstance(name, str) or name not in registry:  # a list or mapping: not a name
        allowed = ", ".join(sorted(registry))
        raise OptionError(
            f"{path}: unknown {what} {name!r}{suggest(name, registry)}. Allowed: {allowed}."
        )
    return registry[name]


def _type_name(annotation) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def check_value(value: Any, annotation, path: str) -> Any:
    """Return `value` converted to `annotation` (int -> float only), or raise OptionError."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # Optional[X]: X's own message is the clearest
            return check_value(value, options[0], path)
        for option in options:
            try:
                return check_value(value, option, path)
            except OptionError:
                continue
        raise OptionError(f"{path}: expected {_type_name(annotation)}, got {value!r}.")
    if origin is typing.Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise OptionError(f"{path}: {value!r} is not one of {allowed}{suggest(value, args)}.")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise OptionError(f"{path}: expected a list, got {value!r}.")
        item = args[0] if args else Any
        return [check_value(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise OptionError(f"{path}: expected a mapping, got {value!r}.")
        return value
    if annotation in SCALARS:
        return SCALARS[annotation](value, path)
    return value


def _float(value, path: str) -> float:
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        value = float(value)  # YAML 1.1 reads "1e-3" as a string
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OptionError(f"{path}: expected a number, got {value!r}.")
    if abs(value) > MAX_MAGNITUDE or not math.isfinite(value):  # exact for a huge int
        raise OptionError(f"{path}: expected a finite number of magnitude at most "
                          f"{MAX_MAGNITUDE:.0e}, got {value!r}.")
    return float(value)


def _int(value, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{path}: expected an integer, got {value!r}.")
    if abs(value) > MAX_INT:
        raise OptionError(f"{path}: {value} is out of range (at most {MAX_INT:,} in "
                          "magnitude).")
    return value


def _exactly(kind: type):
    def check(value, path: str):
        if not isinstance(value, kind):
            raise OptionError(f"{path}: expected {kind.__name__}, got {value!r}.")
        return value
    return check


SCALARS = {float: _float, int: _int, bool: _exactly(bool), str: _exactly(str)}

def reject_unknown(keys: Iterable[str], allowed: Iterable[str], path: str) -> None:
    """Raise for the first key not in `allowed`, with a suggestion and the allowed keys."""
    allowed = list(allowed)
    for key in keys:
        if key not in allowed:
            raise OptionError(f"{path}.{key}: unknown key{suggest(key, allowed)}. "
                              f"Allowed keys here: {', '.join(allowed) or 'none'}.")


def parameter_names(func: Callable, skip: Iterable[str] = ()) -> list[str]:
    """The keyword parameters of `func` a config may set."""
    return [n for n, p in inspect.signature(func).parameters.items()
            if n not in set(skip) and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def check_kwargs(func: Callable, kwargs: dict, path: str, skip: Iterable[str] = ()) -> dict:
    """Validate `kwargs` for `func` and return them with defaults filled in.

    `skip` names parameters the suite passes itself (never from the config).
    """
    if not isinstance(kwargs, dict):
        raise OptionError(f"{path}: expected a mapping of options, got {kwargs!r}.")
    hints = typing.get_type_hints(func.__init__ if isinstance(func, type) else func)
    params = {
        name: p
        for name, p in inspect.signature(func).parameters.items()
        if name not in set(skip) and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    reject_unknown(kwargs, params, path)
    resolved = {}
    for name, param in params.items():
        if name in kwargs:
            resolved[name] = check_value(kwargs[name], hints.get(name, param.annotation),
                                         f"{path}.{name}")
        elif param.default is inspect.Parameter.empty:
            raise OptionError(f"{path}.{name}: required key is missing.")
        else:
            default = param.default
            resolved[name] = list(default) if isinstance(default, tuple) else default
    return resolved


def check_named(registry: dict, section: dict, path: str, what: str, skip=()) -> tuple:
    """Validate a `{name: X, ...options}` section; return (factory, resolved section)."""
    if not isinstance(section, dict):
        raise OptionError(f"{path}: expected a mapping with a 'name' key, got {section!r}.")
    if "name" not in section:
        raise OptionError(f"{path}.name: required key is missing. Allowed: {', '.join(sorted(registry))}.")
    factory = choose(registry, section["name"], f"{path}.name", what)
    options = {k: v for k, v in section.items() if k != "name"}
    return factory, {"name": section["name"], **check_kwargs(factory, options, path, skip)}


def check_sections(data: dict, allowed: Iterable[str]) -> None:
    """Reject unknown top-level sections with a suggestion."""
    allowed = list(allowed)
    for key in data:
        if key not in allowed:
            raise OptionError(f"{key}: unknown section{suggest(key, allowed)}. "
                              f"Allowed sections: {', '.join(allowed)}.")
