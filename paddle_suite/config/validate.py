"""The config schema: each section is checked against the function that consumes it."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from ..core.schema import (
    check_kwargs,
    check_named,
    check_sections,
    check_value,
    parameter_names,
    reject_unknown,
)
from ..data import (
    DATASET_SKIP,
    DATASETS,
    EVAL_DATASETS,
    check_transforms,
    eval_loader,
    loader_section,
    mix_options,
    train_loader,
)
from ..errors import ConfigError
from ..models import INITS, MODELS, count_parameters
from ..models.families import nearest_network
from ..models.finetune import finetune_options
from ..models.zoo import ZOO
from ..runs.rundir import resolve_latest
from ..training.amp import AMPOptions, check_amp
from ..training.losses import LOSSES
from ..training.metrics import metric_names
from ..training.optim import (
    CLIPS,
    LR_COMMON_KEYS,
    OPTIMIZERS,
    REGULARIZERS,
    SCHEDULE_SKIP,
    SCHEDULES,
    build_schedule,
    lr_common,
)
from .callbacks_section import check_callbacks

SECTIONS = ("Global", "Arch", "Loss", "Optimizer", "DataLoader", "Metric", "Infer",
            "Callbacks", "AMP", "Report")


@dataclass
class GlobalOptions:
    """Keys of the `Global` section."""

    experiment: str | None = None          # run directories go to <output_dir>/<experiment>/
    run_name: str | None = None            # the run directory's name (default: start time)
    output_dir: str = "logs"
    epochs: int = 10
    device: Literal["auto", "cpu", "gpu"] = "auto"
    seed: int | None = 42                  # None: not seeded (runs differ)
    seeds: list[int] | None = None         # tools/train.py: one run per seed, as a group
    eval_interval: int = 1                 # evaluate every N epochs (and after the last one)
    eval_steps: int = 0                    # also evaluate every N training steps (0: off)
    log_interval: int = 50                 # steps between progress/log lines
    max_updates: int | None = None         # train exactly this many optimizer updates
                                           # (Caffe's max_iter); replaces epochs
    checkpoints: str | None = None         # resume from (a run directory or checkpoint)
    resume: Literal["auto", "latest", "never"] = "never"  # auto: continue the newest
                                           # unfinished run of the experiment, or start one;
                                           # latest (tools/train.py --resume): continue it,
                                           # an error when there is none
    save_steps: int = 0                    # also a resume checkpoint every N updates (0: off)
    save_minutes: float = 0                # ... and every N minutes of training (0: off)
    preemption: bool = True                # SIGTERM/SIGUSR1: checkpoint, then stop (exit 75)
    pretrained_model: str | None = None    # weights to start from / to evaluate
    save_inference_dir: str | None = None
    dist_timeout: float = 300              # seconds data-parallel processes wait for each other
    to_static: bool = False                # train the network through paddle.jit.to_static
                                           # (off: dygraph; BENCHMARKS.md has when it pays)


@dataclass
class InferOptions:
    """Keys of the `Infer` section (export and inference)."""

    softmax: bool = True       # the exported graph ends in a softmax (false: logits)
    topk: int = 5              # PostProcess top-k in inference.yml and tools/infer.py
    batch_size: int = 16       # images per Paddle Inference call in tools/infer.py
    model_name: str | None = None  # inference.yml Global.model_name (default: the
                                   # architecture's PaddleX name, else ResNet18;
                                   # deploy/description.py)
    rgb_input: bool = True     # a grey-scale model's export takes RGB and converts in-graph


@dataclass
class MetricOptions:
    """Keys of the `Metric` section."""

    topk: list[int] = (1, 5)


def _positive(section: dict, path: str, keys, minimum=1) -> None:
    for key in keys:
        if section.get(key) is not None and section[key] < minimum:
            raise ConfigError(f"{path}.{key}: must be at least {minimum}, got {section[key]}.")


MAX_EPOCHS = 1_000_000


def _global_ranges(glob: dict) -> None:
    if glob["seed"] is not None and not 0 <= glob["seed"] <= 2**32 - 1:
        raise ConfigError(f"Global.seed: must be in [0, 2**32 - 1] (numpy's range), got "
                          f"{glob['seed']}; or null for an unseeded run.")
    if glob["epochs"] > MAX_EPOCHS:
        raise ConfigError(f"Global.epochs: {glob['epochs']} is more than {MAX_EPOCHS:,}.")
    check_name(glob["experiment"], "Global.experiment")
    if glob["run_name"] is not None:
        check_name(glob["run_name"], "Global.run_name")


def check_name(name: str, path: str) -> str:
    """A run or experiment name: one plain directory name, never a path out of output_dir."""
    if (not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name
            or name != name.strip() or len(name) > 128):
        raise ConfigError(f"{path}: {name!r} is not a plain directory name (no '/', '\\', "
                          "'..', surrounding spaces, at most 128 characters); runs are always "
                          "written inside Global.output_dir.")
    return name


def _optional_named(section, registry, path, what, skip=()):
    return None if section is None else check_named(registry, section, path, what, skip)[1]


ARCH_SETTINGS = ("name", "init", "finetune", "pretrained", "sync_bn")  # not constructor options


def forget_replaced_model_options(data: dict, file_model, given: set[str]) -> list[str]:
    """`-o Arch.name=X` (or a child config's `Arch: {name: X}`) over a config written for
    another model: keep the options X takes (class_num, in_channels, ...) and drop those the
    earlier config set for its own model (LeNet's head_activation for an MLP); return a note
    for each. Options in `given` (dotted keys the override or child sets) stay and are checked."""
    arch = data.get("Arch")
    name = arch.get("name") if isinstance(arch, dict) else None
    if not isinstance(name, str) or name == file_model or name not in MODELS:
        return []  # an unknown or malformed name is validation's to report
    takes = set(parameter_names(MODELS[arch["name"]])) | set(ARCH_SETTINGS)
    dropped = [k for k in arch if k not in takes and f"Arch.{k}" not in given]
    for key in dropped:
        del arch[key]
    return [f"Arch.{key}: dropped; the config set it for {file_model} and {arch['name']} "
            "does not take it" for key in dropped]


def _latest(path: str | None, key: str) -> str | None:
    """A run path with `latest` standing for the newest run (rundir.resolve_latest)."""
    try:
        return resolve_latest(path)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _arch(raw) -> dict:
    section = dict(raw or {})
    init = section.pop("init", None)
    finetune = section.pop("finetune", None)
    sync_bn = check_value(section.pop("sync_bn", False), bool, "Arch.sync_bn")
    pretrained = section.get("pretrained")
    if not isinstance(pretrained, bool) and "pretrained" in section:
        section.pop("pretrained")  # a path or run directory: loaded by build_model
    elif pretrained is True and section.get("name") not in ZOO:
        raise ConfigError(f"Arch.pretrained: there are no published weights for "
                          f"{section.get('name')}; give a weights file or a run directory.")
    name = section.get("name")
    if isinstance(name, str) and name not in MODELS:
        raise ConfigError(f"Arch.name: unknown model {name!r}{nearest_network(name, MODELS)}. "
                          f"Allowed: {', '.join(sorted(MODELS))}.")
    resolved = check_named(MODELS, section, "Arch", "model")[1]
    if pretrained is not None and not isinstance(pretrained, bool):
        resolved["pretrained"] = _latest(check_value(pretrained, str, "Arch.pretrained"),
                                         "Arch.pretrained")
    resolved["finetune"] = None if finetune is None else \
        check_kwargs(finetune_options, finetune, "Arch.finetune")
    _positive(resolved, "Arch", ["class_num", "in_channels"])
    count_parameters(resolved)  # too large, or options the constructor rejects
    if init is not None:
        if not isinstance(init, dict):
            raise ConfigError(f"Arch.init: expected a mapping such as {{name: xavier}}, got "
                              f"{init!r}.")
        init = dict(init)
        bias = check_value(init.pop("bias", 0.0), float, "Arch.init.bias")
        head_scale = init.pop("head_scale", None)
        if head_scale is not None:
            head_scale = check_value(head_scale, float, "Arch.init.head_scale")
            if not 0 <= head_scale <= 1:
                raise ConfigError(f"Arch.init.head_scale: expected a factor in [0, 1] for the "
                                  f"last Linear layer's initial weights, got {head_scale}.")
        if init.get("name") == "default":
            init = {"name": "default"}
        else:
            init = check_named(INITS, init, "Arch.init", "init scheme",
                               skip=("fan_in", "fan_out", "shape", "rng"))[1]
        init["bias"], init["head_scale"] = bias, head_scale
    return {**resolved, "init": init, "sync_bn": sync_bn}  # (pretrained, finetune) stay


def _optimizer(raw, epochs: int) -> dict:
    section = {"name": "Adam", **(raw or {})}
    lr = section.pop("lr", None) or {"name": "Constant"}
    reg, clip = section.pop("regularizer", None), section.pop("grad_clip", None)
    accumulate = check_value(section.pop("accumulate_steps", 1), int, "Optimizer.accumulate_steps")
    if accumulate < 1:
        raise ConfigError("Optimizer.accumulate_steps: must be at least 1 (1 = no accumulation).")
    resolved = check_named(OPTIMIZERS, section, "Optimizer", "optimizer", skip=("common",))[1]
    if not isinstance(lr, dict):
        raise ConfigError(f"Optimizer.lr: expected a mapping such as {{name: Cosine, "
                          f"learning_rate: 0.001}}, got {lr!r}.")
    common_keys = LR_COMMON_KEYS
    common = check_kwargs(lr_common, {k: v for k, v in lr.items() if k in common_keys},
                          "Optimizer.lr")
    rest = {"name": "Constant", **{k: v for k, v in lr.items() if k not in common_keys}}
    if isinstance(rest.get("name"), str) and rest["name"] in SCHEDULES:
        own = parameter_names(SCHEDULES[rest["name"]], SCHEDULE_SKIP)
        reject_unknown(lr, ["name", *common_keys, *own], "Optimizer.lr")
    schedule = check_named(SCHEDULES, rest, "Optimizer.lr", "LR schedule", skip=SCHEDULE_SKIP)[1]
    _positive(common, "Optimizer.lr", ["base_batch_size"])
    if common["learning_rate"] <= 0:
        raise ConfigError("Optimizer.lr.learning_rate: must be positive.")
    whole_run = schedule["name"] == "Constant" and common["warmup_epoch"] == epochs
    if common["unit"] == "epoch" and epochs and not 0 <= common["warmup_epoch"] < epochs \
            and not whole_run:
        raise ConfigError(f"Optimizer.lr.warmup_epoch: must be in [0, Global.epochs={epochs}) "
                          "(or equal to it with the Constant schedule: a warm-up all run).")
    if common["warmup_epoch"] < 0:
        raise ConfigError("Optimizer.lr.warmup_epoch: must be >= 0.")
    if resolved["name"] == "AdamW" and reg is not None:
        raise ConfigError("Optimizer.regularizer: AdamW decays weights itself; set "
                          "Optimizer.weight_decay instead of a regularizer.")
    lr_section = {"name": schedule.pop("name"), **common, **schedule}
    build_schedule(lr_section, epochs or 10, steps_per_epoch=None)  # paddle's own checks; whole
    # numbers of updates are checked when the run knows its real count (engine.build)
    return {**resolved, "accumulate_steps": accumulate, "lr": lr_section,
            "regularizer": _optional_named(reg, REGULARIZERS, "Optimizer.regularizer",
                                           "regularizer"),
            "grad_clip": _optional_named(clip, CLIPS, "Optimizer.grad_clip", "clipping")}


def _loader(raw, path: str, schema, registry) -> dict | None:
    if raw is None:
        return None
    raw = _default_eval_split(raw, path)
    section = check_kwargs(schema, raw, path)
    section["dataset"] = check_named(registry, section["dataset"], f"{path}.dataset", "data set",
                                     skip=DATASET_SKIP)[1]
    section["transforms"] = check_transforms(section["transforms"], f"{path}.transforms")
    _positive(section, path, ["batch_size", "global_batch_size", "max_samples"])
    _positive(section, path, ["num_workers"], minimum=0)
    if section.get("mix") is not None:
        section["mix"] = check_kwargs(mix_options, section["mix"], f"{path}.mix")
    return section


def _default_eval_split(raw, path: str):
    """A PaddleX data set (train.txt / val.txt) used for evaluation without a `split` reads
    val.txt, said in the log: its default split is the training list."""
    dataset = raw.get("dataset") if isinstance(raw, dict) else None
    if path.endswith("Eval") and isinstance(dataset, dict) and dataset.get("name") == "PaddleX" \
            and "split" not in dataset:
        logging.getLogger("paddle_suite").info(
            "%s.dataset: a PaddleX data set without split; evaluating on val.txt", path)
        return {**raw, "dataset": {**dataset, "split": "val"}}
    return raw


def _data(raw) -> dict:
    section = check_kwargs(loader_section, raw if raw is not None else {}, "DataLoader")
    if section["Train"] is None:
        section["Train"] = {"dataset": {"name": "MNIST10k", "split": "train"}}
    if (section["Train"].get("dataset") or {}).get("name") == "HoldOut":
        raise ConfigError("DataLoader.Train.dataset.name: HoldOut only makes sense for Eval "
                          "(it holds out part of the Train data set).")
    section["Train"] = _loader(section["Train"], "DataLoader.Train", train_loader, DATASETS)
    section["Eval"] = _loader(section["Eval"], "DataLoader.Eval", eval_loader, EVAL_DATASETS)
    if section["classes"] is not None and len(set(section["classes"])) < 2:
        raise ConfigError("DataLoader.classes: list at least two distinct classes.")
    return section


# Nested keys whose value is read as a mapping (by the PaddleClas translator and by
# validation) before any schema sees them.
NESTED_MAPPINGS = [(loader, *sub) for loader in ("Train", "Eval")
                   for sub in ((), ("dataset",), ("sampler",), ("loader",))]
NESTED_MAPPINGS = [("DataLoader", *path) for path in NESTED_MAPPINGS] + [
    ("Infer", "PostProcess"), ("Optimizer", "lr"), ("Arch", "init"), ("Arch", "finetune")]


def check_section_shapes(data: dict) -> None:
    """Each section a mapping (`Report` a boolean), and the nested keys that hold sections
    (NESTED_MAPPINGS) mappings too: what the PaddleClas translator and validation read
    before any schema. (Which sections exist is checked after the translation.)"""
    for name in SECTIONS:
        if name != "Report" and data.get(name) is not None and not isinstance(data[name], dict):
            raise ConfigError(f"{name}: expected a mapping of keys, got {data[name]!r}.")
    for path in NESTED_MAPPINGS:
        value = data
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, dict):
            raise ConfigError(f"{'.'.join(path)}: expected a mapping of keys, got {value!r}.")


def validate(data: dict, default_experiment: str = "default") -> dict:
    """Validate a raw config dict and return it resolved (every default filled in)."""
    check_sections(data, SECTIONS)
    check_section_shapes(data)
    glob = check_kwargs(GlobalOptions, data.get("Global") or {}, "Global")
    glob["experiment"] = glob["experiment"] or default_experiment
    _positive(glob, "Global", ["epochs", "log_interval", "max_updates"])
    _global_ranges(glob)
    _positive(glob, "Global", ["eval_interval", "eval_steps", "save_steps", "save_minutes"],
              minimum=0)
    if glob["dist_timeout"] <= 0:
        raise ConfigError("Global.dist_timeout: must be a positive number of seconds.")
    for key in ("checkpoints", "pretrained_model"):
        glob[key] = _latest(glob[key], f"Global.{key}")
    if glob["seeds"] is not None and (not glob["seeds"] or
                                      len(set(glob["seeds"])) != len(glob["seeds"])):
        raise ConfigError(f"Global.seeds: list distinct seeds (one run each), got "
                          f"{glob['seeds']}.")
    out = {"Global": glob, "Arch": _arch(data.get("Arch") or {"name": "LeNet"})}
    out["Loss"] = check_named(LOSSES, data.get("Loss") or {"name": "CrossEntropy"}, "Loss", "loss")[1]
    out["Optimizer"] = _optimizer(data.get("Optimizer"),  # with max_updates: not known yet
                                  None if glob["max_updates"] else glob["epochs"])
    out["DataLoader"] = _data(data.get("DataLoader"))
    out["Metric"] = check_kwargs(MetricOptions, data.get("Metric") or {}, "Metric")
    out["Infer"] = check_kwargs(InferOptions, data.get("Infer") or {}, "Infer")
    _positive(out["Infer"], "Infer", ["topk", "batch_size"])
    _positive({"k": min(out["Metric"]["topk"] or [0])}, "Metric.topk", ["k"])
    classes = out["DataLoader"]["classes"]
    if classes and len(classes) != out["Arch"]["class_num"]:
        raise ConfigError(f"Arch.class_num: is {out['Arch']['class_num']} but DataLoader.classes "
                          f"keeps {len(classes)} classes; set Arch.class_num: {len(classes)}.")
    ls = out["Loss"].get("label_smoothing")
    if ls is not None and not 0 <= ls < 1:
        raise ConfigError("Loss.label_smoothing: must be in [0, 1).")
    out["AMP"] = check_amp(check_kwargs(AMPOptions, data.get("AMP") or {}, "AMP"))
    if out["AMP"]["use_amp"] and glob["to_static"]:
        raise ConfigError("AMP.use_amp: not combined with Global.to_static (untested together); "
                          "turn one of them off.")
    out["Callbacks"] = check_callbacks(data.get("Callbacks"), glob["epochs"],
                                       metric_names(out["Metric"], out["Arch"]["class_num"]))
    report = data.get("Report", True)
    if not isinstance(report, bool):
        raise ConfigError(f"Report: expected true (write the run's report when it ends) or "
                          f"false (leave it out; tools/report.py writes it later), got {report!r}.")
    out["Report"] = report
    _evaluated(out)
    return out


def _evaluated(cfg: dict) -> None:
    """Callbacks that act on evaluations need a run that evaluates."""
    glob = cfg["Global"]
    for name in ("EarlyStopping", "PlateauDecay"):
        if name not in cfg["Callbacks"]:
            continue
        if cfg["DataLoader"]["Eval"] is None:
            raise ConfigError(f"Callbacks.{name}: acts on evaluations, but DataLoader.Eval is "
                              "not set; add an Eval data set (e.g. {name: HoldOut, fraction: "
                              "0.1}) or leave the callback out.")
        if glob["eval_interval"] == 0 and glob["eval_steps"] == 0:
            raise ConfigError(f"Callbacks.{name}: acts on evaluations, but Global.eval_interval "
                              "and Global.eval_steps are both 0, so none happens.")


__all__ = ["validate", "check_section_shapes", "GlobalOptions", "MetricOptions", "InferOptions", "SECTIONS"]
