"""Load a YAML config, apply `-o Section.key=value` overrides, validate it, dump it.

The file is read with `yaml.safe_load`; override values are parsed the same way (as YAML
literals, so `5` is an int, `1e-3` a number, `[1, 2]` a list, `null` None), never evaluated.
Validation fills every default in, so the resolved config written to a run directory shows
every value the run used.
"""
from __future__ import annotations

import copy
import functools
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..core.yamlsafe import (
    MAX_BYTES,
    YamlError,
    YamlLimitError,
    compose,
    construct,
    decode,
    load_yaml,
)
from ..errors import ConfigError, OptionError
from .paddleclas import translate

_TOKEN = re.compile(r"^([A-Za-z_][\w-]*)((?:\[\d+\])*)$")
_PATH_PREFIX = re.compile(r"^([\w.\[\]-]+):")
MAX_BASE_DEPTH = 16  # files in one _base_ chain


class Config(dict):
    """A validated, fully resolved config: a plain nested dict plus where it came from."""

    def __init__(self, data: dict, source: str | None = None, overrides: Iterable[str] = (),
                 notes: Iterable[str] = (), lines: dict | None = None):
        super().__init__(data)
        self.source = source
        self.overrides = list(overrides)
        self.notes = list(notes)  # what loading changed beyond the file and overrides
        self.lines = dict(lines or {})  # dotted key -> line in `source`

    def with_global(self, overrides: Iterable[str] = (), **changes) -> "Config":
        """A copy with `Global` keys changed and the same source, lines and notes;
        `overrides` are recorded as if given with -o (they explain where a value came from)."""
        return Config({**self, "Global": {**self["Global"], **changes}}, self.source,
                      [*self.overrides, *overrides], self.notes, self.lines)

    def to_yaml(self) -> str:
        """The resolved config as YAML text (what the run directory's config.yaml holds)."""
        return yaml.safe_dump(_plain(dict(self)), sort_keys=False, default_flow_style=None)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def read_yaml(path: str | Path) -> tuple[dict, dict]:
    """Read a YAML mapping safely; return (data, {dotted key path: line number}).

    Duplicate keys, alias bombs, recursive aliases, deep nesting, files over 1 MiB and text
    that is not UTF-8 are refused (see core/yamlsafe.py)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file not found: {path}. Pass an existing YAML file with -c.")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror}).") from None
    try:
        if len(raw) > MAX_BYTES:
            raise YamlError(f"the file is larger than {MAX_BYTES:,} bytes; a config never is")
        node, loader = compose(decode(raw))
        lines = _line_map(node)
        data = construct(node, loader)
    except YamlError as exc:
        raise ConfigError(f"{path}: {exc}.") from None
    if data is None:
        raise ConfigError(f"{path}: the file is empty; expected sections such as Global, Arch, "
                          "Optimizer, DataLoader.")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level, "
                          f"got a {type(data).__name__}.")
    return data, lines


def merge(base: dict, child: dict) -> dict:
    """Deep-merge `child` into a copy of `base`: mappings merge, everything else replaces.
    A child mapping replaces the base's whole instead of merging into it when it says
    `_delete_: true` (as in MMEngine), and a child `dataset` that names another data set
    (`name: FileList` over `name: MNIST10k`) replaces the base's: one data set's options
    mean nothing to another. (Optimizer and schedule sections still merge: their common
    keys, such as `lr` or `learning_rate`, carry over.)"""
    out = copy.deepcopy(base)
    for key, value in child.items():
        if key == "_delete_":
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict) and \
                not _replaces(key, out[key], value):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(_without_delete(value))
    return out


def _replaces(key: str, base: dict, child: dict) -> bool:
    if "_delete_" in child:
        if not isinstance(child["_delete_"], bool):
            raise ConfigError(f"{key}._delete_: expected true or false, got "
                              f"{child['_delete_']!r}.")
        return child["_delete_"]
    return key == "dataset" and "name" in child and child.get("name") != base.get("name")


def _without_delete(value):
    if isinstance(value, dict):
        return {k: _without_delete(v) for k, v in value.items() if k != "_delete_"}
    return value


def read_with_base(path: str | Path, seen: tuple = (),
                   notes: list | None = None) -> tuple[dict, dict]:
    """Read a config; a top-level `_base_: other.yaml` (relative to this file) is read first
    and this file's keys are merged over it. Line numbers refer to this file. A chain of
    more than MAX_BASE_DEPTH files, or one that loops, is an error. A file that names
    another model than its base drops the base's options for the old model (a note each,
    appended to `notes`)."""
    path = Path(path)
    data, lines = read_yaml(path)
    base = data.pop("_base_", None)
    if base is None:
        return data, lines
    if not isinstance(base, str) or not base.strip():
        raise ConfigError(f"{path}: _base_ must be the path of one YAML file, got {base!r}.")
    base_path = (path.parent / base).resolve()
    if base_path in seen or base_path == path.resolve():
        raise ConfigError(f"{path}: _base_ chain loops back to {base_path}.")
    if len(seen) + 1 >= MAX_BASE_DEPTH:
        raise ConfigError(f"{path}: _base_ chain longer than {MAX_BASE_DEPTH} files; "
                          "flatten it.")
    base_data, _ = read_with_base(base_path, seen + (path.resolve(),), notes)
    merged = merge(base_data, data)
    child_arch = data.get("Arch")
    if isinstance(child_arch, dict) and isinstance(base_data.get("Arch"), dict):
        from .validate import forget_replaced_model_options
        found = forget_replaced_model_options(merged, base_data["Arch"].get("name"),
                                              {f"Arch.{key}" for key in child_arch})
        if notes is not None:
            notes.extend(f"{note} ({path})" for note in found)
    return merged, lines


def _line_map(root) -> dict:
    """{dotted key path: line} for every key; iterative (the graph is checked, so its
    expansion is bounded)."""
    lines, stack = {}, [(root, "")]
    while stack:
        node, prefix = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
                lines.setdefault(path, key_node.start_mark.line + 1)
                stack.append((value_node, path))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                path = f"{prefix}[{i}]"
                lines.setdefault(path, item.start_mark.line + 1)
                stack.append((item, path))
    return lines


def parse_override(text: str) -> tuple[list, Any]:
    """Split 'Section.key[0].sub=value' into ([Section, key, 0, sub], parsed value)."""
    if "=" not in text:
        raise ConfigError(f"Override {text!r}: expected Section.key=value.")
    dotted, raw = text.split("=", 1)
    keys: list = []
    for token in dotted.strip().split("."):
        match = _TOKEN.match(token)
        if not match:
            raise ConfigError(f"Override {text!r}: {token!r} is not a valid key "
                              "(use Section.key or Section.list[0].key).")
        keys.append(match.group(1))
        keys.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    try:
        value = load_yaml(raw) if raw.strip() else None
    except YamlLimitError as exc:
        raise ConfigError(f"Override {text!r}: {exc}.") from None
    except YamlError:
        value = raw  # not YAML: the text itself (a path, a name)
    return keys, value


def apply_override(data: dict, text: str) -> None:
    """Set one override in place. Missing intermediate mappings are created."""
    keys, value = parse_override(text)
    node = data
    for depth, key in enumerate(keys[:-1]):
        nxt = keys[depth + 1]
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                raise ConfigError(f"Override {text!r}: index [{key}] is out of range.")
        elif not isinstance(node, dict):
            parent = ".".join(str(k) for k in keys[:depth])
            raise ConfigError(f"Override {text!r}: {parent} is {node!r}, not a mapping, so it "
                              f"has no key {key!r}.")
        elif node.get(key) is None:
            node[key] = [] if isinstance(nxt, int) else {}
        node = node[key]
    last = keys[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ConfigError(f"Override {text!r}: index [{last}] is out of range.")
    elif not isinstance(node, dict):
        parent = ".".join(str(k) for k in keys[:-1])
        raise ConfigError(f"Override {text!r}: {parent} is {node!r}, not a mapping, so it has "
                          f"no key {last!r}.")
    node[last] = value


def load_config(path: str | Path | None, overrides: Iterable[str] = (),
                data: dict | None = None) -> Config:
    """Read `path` (or use `data`), apply overrides, validate; return the resolved Config.

    Errors name the key path, the file line where the YAML has one, or the override that set it.
    """
    from .validate import (  # paddle
        check_section_shapes,
        forget_replaced_model_options,
        validate,
    )

    overrides = list(overrides)
    lines: dict = {}
    notes: list[str] = []
    if data is None:
        data, lines = read_with_base(path, notes=notes)
    data = copy.deepcopy(data)
    file_model = data["Arch"].get("name") if isinstance(data.get("Arch"), dict) else None
    for text in overrides:
        apply_override(data, text)
    notes += forget_replaced_model_options(
        data, file_model, {text.split("=", 1)[0].strip() for text in overrides})
    try:
        check_section_shapes(data)
        data = translate(data)
        resolved = validate(data, default_experiment=Path(path).stem if path else "default")
    except (ConfigError, OptionError) as exc:
        raise ConfigError(_locate(str(exc), path, lines, overrides)) from None
    return Config(resolved, source=str(path) if path else None, overrides=overrides,
                  notes=notes, lines=lines)


def locating(function):
    """Decorate a function whose first argument is a config: an OptionError it raises is
    reported by `located`, with the file and line of the key."""
    @functools.wraps(function)
    def with_location(cfg, *args, **kwargs):
        with located(cfg):
            return function(cfg, *args, **kwargs)
    return with_location


def located(cfg):
    """Report an OptionError raised while `cfg` is used (a library refusing one of its
    values while the run is built or runs) as a ConfigError naming the file and line, or
    the override, that set the key. A plain dict has no source: the message is kept."""
    if not isinstance(cfg, Config):
        return option_errors_at(None)
    return option_errors_at(cfg.source, cfg.lines, cfg.overrides)


@contextmanager
def option_errors_at(source, lines: dict | None = None, overrides: Iterable[str] = ()):
    """An OptionError inside the block becomes a ConfigError located in `source` (a file
    whose keys are on `lines`) or in the override that set the key."""
    try:
        yield
    except OptionError as exc:
        raise ConfigError(_locate(str(exc), source, lines or {}, list(overrides))) from None


def _locate(message: str, path, lines: dict, overrides: list) -> str:
    match = _PATH_PREFIX.match(message)
    if not match:
        return f"{path}: {message}" if path else message
    key = match.group(1)
    for text in overrides:
        dotted = text.split("=", 1)[0].strip()
        if key == dotted or key.startswith(dotted + ".") or dotted.startswith(key + "."):
            return f"{message} (set by the override -o {text})"
    probe = key
    while probe:
        if probe in lines:
            return f"{message} ({path}, line {lines[probe]})"
        probe = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", probe) if re.search(r"[.\[]", probe) else ""
    return f"{message} ({path})" if path else message
