"""What VisualDL's hyper-parameter page and run list show for a run.

VisualDL's front end reads a dotted name (`Optimizer.lr.learning_rate`) as a nested path and
leaves its cells blank, and its Parallel Coordinates view hangs with ~30 long axes. So a run
gives the page a short, curated set: plain names (`lr`, `batch_size`, `optimizer`...), plus
one for every key its `-o` overrides or its search trial changed; values as a person writes
them (`0.002`, not 0.0020000000949949), numbers as numbers so the page's axes are numeric;
the full resolved config stays in `config.yaml`.
"""
from __future__ import annotations

CURATED = {  # page name: config path
    "lr": "Optimizer.lr.learning_rate", "batch_size": "DataLoader.Train.batch_size",
    "optimizer": "Optimizer.name", "schedule": "Optimizer.lr.name", "epochs": "Global.epochs",
    "seed": "Global.seed",
}
MAX_PARAMS = 10  # VisualDL 2.5.3's Parallel Coordinates view hangs the tab with many axes
NOT_HPARAMS = ("Global.output_dir", "Global.experiment", "Global.run_name",
               "Global.checkpoints", "Global.log_interval", "Global.device",
               "Global.pretrained_model", "Global.save_inference_dir", "Global.dist_timeout",
               "Callbacks.Checkpoint", "Callbacks.VisualDL", "Callbacks.Saliency",
               "DataLoader.Eval", "Metric", "Infer", "Global.eval_interval",
               "Global.eval_steps", "Report")  # how a run is watched, not what it learns


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


def page_hparams(cfg: dict, overrides=()) -> dict:
    """{plain name: value} for VisualDL's hyper-parameter page: the curated keys and the
    weight decay, then the keys the overrides changed, most recent first (at most
    MAX_PARAMS in all; the whole config is in the run's config.yaml)."""
    out = {name: shown(lookup(cfg, path)) for name, path in CURATED.items()}
    optimizer = cfg.get("Optimizer") or {}
    decay = optimizer.get("weight_decay") or (optimizer.get("regularizer") or {}).get("coeff")
    out["weight_decay"] = shown(decay or 0.0)
    paths = set(CURATED.values()) | {"Optimizer.weight_decay", "Optimizer.regularizer.coeff"}
    for key in changed_keys(overrides):
        if key in paths or len(out) >= MAX_PARAMS:
            continue
        out[short_name(key, set(out))] = shown(lookup(cfg, key))
    return {k: v for k, v in out.items() if v is not None}


PAGE_NAMES = {**{path: name for name, path in CURATED.items()},
              "Optimizer.regularizer.coeff": "weight_decay",
              "Optimizer.weight_decay": "weight_decay"}


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
