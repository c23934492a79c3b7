"""What VisualDL's hyper-parameter page and run list show for a run.

VisualDL's front end reads a dotted name (`Optimizer.lr.learning_rate`) as a nested path and
leaves its cells blank, and its Parallel Coordinates view hangs with ~30 long axes. So a run
gives the page a short set of plain names: the learning rate, batch size and weight decay
(the keys people tune), then every key its `-o` overrides or its search trial set, then every
key whose value differs between it and the other runs in its folder (its experiment, seed
group or study); a key that is the same in every run (the optimizer, the schedule, the
epochs of a learning-rate sweep) is left out, so the columns that matter fit on the screen.
Values are written as a person writes them (`0.002`, not 0.0020000000949949), numbers as
numbers so the page's axes are numeric; the full resolved config stays in `config.yaml`.

Limits of VisualDL 2.5.3 (its records are written once): a run written before a later run
changed a new key shows that key's cell blank; the page's metric cells show a float32 in
full (`0.9545000195503235`) because VisualDL stores every scalar as a 32-bit float.
"""
from __future__ import annotations

KEY_PARAMS = {"lr": "Optimizer.lr.learning_rate", "batch_size": "DataLoader.Train.batch_size"}
CURATED = {**KEY_PARAMS,  # page name: config path, when it is shown
           "optimizer": "Optimizer.name", "schedule": "Optimizer.lr.name",
           "epochs": "Global.epochs", "seed": "Global.seed"}
DECAY_PATHS = ("Optimizer.weight_decay", "Optimizer.regularizer.coeff")
PAGE_NAMES = {**{path: name for name, path in CURATED.items()},
              **{path: "weight_decay" for path in DECAY_PATHS}}
MAX_SIBLINGS = 200  # the newest runs of a folder compared with, to bound the start's reading
MAX_PARAMS = 10  # VisualDL 2.5.3's Parallel Coordinates view hangs the tab with many axes
NOT_HPARAMS = ("Global.output_dir", "Global.experiment", "Global.run_name",
               "Global.checkpoints", "Global.log_interval", "Global.device",
               "Global.pretrained_model", "Global.save_inference_dir", "Global.dist_timeout",
               "Callbacks.Checkpoint", "Callbacks.VisualDL", "Callbacks.Saliency",
               "DataLoader.Eval", "Metric", "Infer", "Global.eval_interval",
               "Global.eval_steps", "Global.seeds", "Report")  # how a run is watched, not what it learns


def lookup(cfg: dict, dotted: str):
    node = cfg
    for part in dotted.replace("]", "").replace("[", ".").split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def shown(value) -> str | int | float | None:
    """A value as a person writes it: 0.002, 1e-05, true, Adam, [0.5]. Numbers stay
    numbers (to six significant digits), so VisualDL's page draws numeric axes, with its
    linear/log switch and its range filters; text would be ordered as read."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if value is None:
        return "none"
    if isinstance(value, dict):
        if "name" in value:
            return str(value["name"])[:40]
        return "{" + ", ".join(f"{k}: {shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (str, list, tuple)):
        return str(value if not isinstance(value, tuple) else list(value))[:40]
    return None


def short_name(dotted: str, taken: set) -> str:
    """`Optimizer.lr.warmup_epoch` -> `warmup_epoch` (or `lr_warmup_epoch` if taken)."""
    parts = [p for p in dotted.replace("[", ".").replace("]", "").split(".") if p]
    for size in range(1, len(parts) + 1):
        name = "_".join(parts[-size:])
        if name not in taken:
            return name
    return "_".join(parts)


def changed_keys(overrides) -> list[str]:
    """The config keys that `-o` overrides (or a search trial) set, hyper-parameters only,
    the last given first (a search trial's own parameters come after its fixed overrides)."""
    keys = []
    for text in reversed(list(overrides or ())):
        key = str(text).split("=", 1)[0].strip()
        if key and not key.startswith(NOT_HPARAMS) and key not in keys:
            keys.append(key)
    return keys


def flat_items(node, prefix: str = ""):
    """(dotted path, value) for every leaf of a config (a list is one leaf)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from flat_items(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), node


def varying_keys(cfg: dict, others) -> list[str]:
    """The hyper-parameter keys whose value differs between `cfg` and any of `others`, in
    the config's order (keys of how a run is watched, not what it learns, left out)."""
    mine = {k: shown(v) for k, v in flat_items(cfg) if not k.startswith(NOT_HPARAMS)}
    differ = set()
    for other in others:
        theirs = {k: shown(v) for k, v in flat_items(other) if not k.startswith(NOT_HPARAMS)}
        differ |= {k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k)}
    return [k for k in mine if k in differ]


def sibling_configs(run_dir, limit: int = MAX_SIBLINGS) -> list[dict]:
    """The resolved configs of the newest other runs in the run's folder."""
    from pathlib import Path

    from ..runs.rundir import run_config
    run_dir = Path(run_dir)
    try:
        others = [p for p in run_dir.parent.iterdir() if p != run_dir and
                  (p / "config.yaml").is_file()]
    except OSError:
        return []
    others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [c for c in map(run_config, others[:limit]) if c]


def page_hparams(cfg: dict, overrides=(), siblings=()) -> dict:
    """{plain name: value} for VisualDL's hyper-parameter page: the learning rate, batch
    size and weight decay, then the keys the overrides changed (most recent first), then the
    keys that differ from the `siblings` (the other runs' configs), at most MAX_PARAMS."""
    out = {name: shown(lookup(cfg, path)) for name, path in KEY_PARAMS.items()}
    optimizer = cfg.get("Optimizer") or {}
    decay = optimizer.get("weight_decay") or (optimizer.get("regularizer") or {}).get("coeff")
    out["weight_decay"] = shown(decay or 0.0)
    done = set(KEY_PARAMS.values()) | set(DECAY_PATHS)
    for key in changed_keys(overrides) + varying_keys(cfg, siblings):
        if key in done or len(out) >= MAX_PARAMS:
            continue
        done.add(key)
        name = PAGE_NAMES.get(key) or short_name(key, set(out) | set(CURATED))
        out[name] = shown(lookup(cfg, key))
    return {k: v for k, v in out.items() if v is not None}


def display_name(cfg: dict, run_name: str, overrides=()) -> str:
    """The run as VisualDL's run list shows it, what tells it apart first (its list cuts a
    name after about 30 characters): every value its overrides or search trial set, in the
    hyper-parameter page's words, then `| <experiment>/<run>`; with nothing set, the run's
    name, then `| <experiment>`."""
    experiment = cfg["Global"]["experiment"]
    values = [f"{PAGE_NAMES.get(key) or short_name(key, set())}={shown(lookup(cfg, key))}"
              for key in changed_keys(overrides)]
    if not values:
        return f"{run_name} | {experiment}"
    return " ".join(values) + f" | {experiment}/{run_name}"
