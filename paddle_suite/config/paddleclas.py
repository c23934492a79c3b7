"""Read a config written for PaddleClas's classification trainer (`ppcls/configs/...`).

`load_config` calls `translate()` on every config after the overrides are applied. A config
in PaddleClas's spelling (`Loss.Train` lists, `ImageNetDataset` with `transform_ops`,
`sampler`/`loader`, `Metric.Train/Eval`, `EMA`, PaddleClas `Global` keys...) is
rewritten into the suite's vocabulary, so it is validated and run like any other config and
the run directory's `config.yaml` shows what it became. Each key is honoured, or refused with
a reason; a few that cannot change a run are accepted and listed in the log.
docs/paddleclas.md has the table. A config in the suite's own spelling passes through.
"""
from __future__ import annotations

import logging

from ..core.schema import parameter_names, suggest
from ..errors import ConfigError

log = logging.getLogger("paddle_suite")

GLOBAL_OFF = {  # PaddleClas key: (value that changes nothing, why another value is refused)
    "use_dali": (False, "NVIDIA DALI loading is not available; the suite uses paddle.io"),
    "use_multilabel": (False, "the suite trains single-label classifiers"),
    "eval_mode": ("classification", "the suite evaluates classifiers"),
    "train_mode": (None, "only the standard training loop exists here"),
}
LR_NAMES = {"Cosine": "Cosine", "Step": "Step", "MultiStepDecay": "MultiStep",
            "Linear": "Polynomial", "ConstLR": "Constant", "Constant": "Constant"}
SAMPLERS = ("DistributedBatchSampler", "BatchSampler")


def is_paddleclas(data: dict) -> bool:
    """Does this config use PaddleClas's spelling anywhere?"""
    loss, metric = data.get("Loss"), data.get("Metric")
    loaders = data.get("DataLoader") or {}
    sections = [loaders.get(k) for k in ("Train", "Eval")]
    return (isinstance(loss, dict) and ("Train" in loss or "Eval" in loss)) or \
        (isinstance(metric, dict) and ("Train" in metric or "Eval" in metric)) or \
        any(isinstance(s, dict) and ("sampler" in s or "loader" in s or "transform_ops" in
                                     (s.get("dataset") or {})) for s in sections) or \
        "EMA" in data


def translate(data: dict) -> dict:
    """`data` in the suite's vocabulary (a copy when it was PaddleClas's; else itself)."""
    if not is_paddleclas(data):
        return data
    notes: list[str] = []
    out = {k: v for k, v in data.items() if k != "EMA"}  # AMP: the suite's own section
    glob, callbacks = _global(data.get("Global") or {}, notes)
    out["Global"] = glob
    if data.get("EMA") is not None:
        callbacks["EMA"] = _ema(data["EMA"])
    if callbacks:
        out["Callbacks"] = {**(data.get("Callbacks") or {}), **callbacks}
    if isinstance(data.get("Arch"), dict):
        out["Arch"] = _arch(data["Arch"], (data.get("Global") or {}).get("image_shape"))
    if isinstance(data.get("Loss"), dict) and "Train" in data["Loss"]:
        out["Loss"] = _loss(data["Loss"], notes)
    if isinstance(data.get("Optimizer"), dict):
        epochs = (data.get("Global") or {}).get("epochs")
        out["Optimizer"] = _optimizer(data["Optimizer"], epochs, notes)
    if isinstance(data.get("DataLoader"), dict):
        out["DataLoader"] = _loaders(data["DataLoader"], notes)
    if isinstance(data.get("Metric"), dict) and ("Train" in data["Metric"] or
                                                  "Eval" in data["Metric"]):
        out["Metric"] = _metric(data["Metric"])
    if isinstance(data.get("Infer"), dict):
        out["Infer"] = _infer(data["Infer"], out, notes)
    _check_image_shape((data.get("Global") or {}).get("image_shape"), out)
    if notes:
        log.info("PaddleClas config read; note: %s", "; ".join(notes))
    return out


def _global(section: dict, notes: list) -> tuple[dict, dict]:
    """PaddleClas's Global -> (the suite's Global, Callbacks it implies)."""
    from .validate import GlobalOptions
    own = set(GlobalOptions.__dataclass_fields__)
    glob, callbacks = {}, {}
    for key, value in section.items():
        path = f"Global.{key}"
        if key == "device":
            glob[key] = "auto" if value == "gpu" else value
            if value == "gpu":
                notes.append("Global.device: gpu, read as auto (the GPU when paddle sees one, "
                             "else the CPU; PaddleClas's configs say gpu by habit)")
        elif key in own:  # the keys PaddleClas shares with the suite, and the suite's own
            glob[key] = value
        elif key == "print_batch_step":
            glob["log_interval"] = value
        elif key == "eval_during_train":
            continue  # below: False turns evaluation off whatever eval_interval says
        elif key == "use_visualdl":
            callbacks["VisualDL"] = {} if value else False
        elif key == "save_interval":
            if value != 1:
                raise ConfigError(f"{path}: the suite writes a resume checkpoint every epoch "
                                  "and keeps the best (Callbacks.Checkpoint.top_k keeps more); "
                                  f"every-{value}-epochs copies are not made. Set it to 1.")
        elif key == "image_shape":
            continue  # checked against Arch and the Eval transforms in _check_image_shape
        elif key == "ema":  # use_ema.yaml's switch: the suite's EMA callback
            if value:
                callbacks["EMA"] = _ema({})
                notes.append("Global.ema: true, read as the EMA callback (decay 0.9999; an "
                             "EMA section sets another)")
        elif key in GLOBAL_OFF:
            harmless, why = GLOBAL_OFF[key]
            if value not in (harmless, None, False):
                raise ConfigError(f"{path}: {value!r} is not supported ({why}).")
        else:
            allowed = [*sorted(own), "print_batch_step", "eval_during_train",
                       "use_visualdl", "save_interval", "image_shape", "ema", *GLOBAL_OFF]
            raise ConfigError(f"{path}: a PaddleClas key the suite does not support"
                              f"{suggest(key, allowed)}. Supported here: {', '.join(allowed)}.")
    if section.get("eval_during_train") is False:
        glob["eval_interval"] = 0
    return glob, callbacks


def _ema(section) -> dict:
    if not isinstance(section, dict) or set(section) - {"decay"}:
        raise ConfigError(f"EMA: expected {{decay: <number>}}, got {section!r}.")
    return {"decay": section.get("decay", 0.9999), "warmup": False}  # PaddleClas: no ramp


def _arch(section: dict, image_shape) -> dict:
    from ..models import MODELS
    from ..models.families import nearest_network
    name = section.get("name")
    if not isinstance(name, str) or name not in MODELS:
        raise ConfigError(f"Arch.name: {name!r} is a PaddleClas architecture the suite does "
                          f"not have{nearest_network(name, MODELS)}. The suite builds "
                          "paddle.vision's networks (docs/paddleclas.md lists the names).")
    options = set(parameter_names(MODELS[name])) - {"pretrained"}
    out = {}
    for key, value in section.items():
        if key in ("name", "init", "finetune", "sync_bn") or key in options:
            out[key] = value  # PaddleClas's keys the network takes, and the suite's own
        elif key == "use_sync_bn":
            out["sync_bn"] = value  # PaddleClas's name for it
        elif key in ("pretrained", "use_ssld") and not value:
            continue
        elif key == "pretrained" and isinstance(value, str) and "://" not in value:
            out[key] = value  # a local weights file (PaddleClas names it without .pdparams)
        elif key == "pretrained":
            raise ConfigError(f"Arch.pretrained: {value!r} asks PaddleClas to download its "
                              "weights, which the suite never does; download them yourself "
                              "and give the local file: Arch.pretrained: <path/to/weights>.")
        else:
            raise ConfigError(f"Arch.{key}: a PaddleClas option the suite's {name} does not "
                              f"take (it takes {', '.join(sorted(options | {'init', 'finetune'}))}).")
    if isinstance(image_shape, list) and image_shape and image_shape[0] != 3:
        out.setdefault("in_channels", image_shape[0])  # an explicit Arch.in_channels wins
    return out


def _only_item(items, path: str, what: str) -> tuple[str, dict]:
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict) \
            or len(items[0]) != 1:
        raise ConfigError(f"{path}: the suite trains with one {what}; expected a list with "
                          f"one '- Name: {{options}}' entry, got {items!r}.")
    name, options = next(iter(items[0].items()))
    return name, options or {}


def _loss(section: dict, notes: list) -> dict:
    name, options = _only_item(section["Train"], "Loss.Train", "loss")
    if name != "CELoss":
        raise ConfigError(f"Loss.Train[0].{name}: not supported; the suite has CELoss "
                          "(with epsilon: label smoothing).")
    extra = set(options) - {"weight", "epsilon"}
    if extra:
        raise ConfigError(f"Loss.Train[0].CELoss.{sorted(extra)[0]}: not supported "
                          "(CELoss takes weight and epsilon).")
    if options.get("weight", 1.0) != 1.0:
        raise ConfigError("Loss.Train[0].CELoss.weight: a single loss's weight only rescales "
                          "its gradients; leave it at 1.0 and scale the learning rate.")
    if "Eval" in section:
        eval_name, eval_options = _only_item(section["Eval"], "Loss.Eval", "loss")
        if eval_name != "CELoss":
            raise ConfigError(f"Loss.Eval[0].{eval_name}: not supported; the suite "
                              "evaluates with CELoss.")
        if (eval_options.get("epsilon") or 0.0) != (options.get("epsilon") or 0.0):
            notes.append("Loss.Eval: the eval loss is the training loss (CELoss with "
                         "Loss.Train's epsilon), so it differs from PaddleClas's by the "
                         "label smoothing")
    return {"name": "CrossEntropy", "label_smoothing": options.get("epsilon") or 0.0}


def _optimizer(section: dict, epochs, notes: list) -> dict:
    out = {}
    for key, value in section.items():
        if key == "lr":
            out["lr"] = _schedule(value, epochs, notes)
        elif key == "use_nesterov":
            out["nesterov"] = value
        elif key == "clip_norm":
            out["grad_clip"] = {"name": "global_norm", "value": value}
        elif key == "multi_precision":
            notes.append("Optimizer.multi_precision (float32 training)")
        elif key in ("no_weight_decay_name", "one_dim_param_no_weight_decay"):
            if value:
                raise ConfigError(f"Optimizer.{key}: exempting parameters from weight decay "
                                  "is not supported; remove it.")
        elif key == "clip_grad" and value is None:
            continue
        else:
            out[key] = value
    return out


def _schedule(section, epochs, notes: list) -> dict:
    if not isinstance(section, dict):
        return section
    warm = section.get("warmup_epoch") or 0
    if isinstance(epochs, int) and isinstance(warm, (int, float)) and warm >= epochs > 0:
        notes.append(f"Optimizer.lr.warmup_epoch {warm} >= Global.epochs {epochs}: as in "
                     "PaddleClas, the whole run warms up to learning_rate")
        return {"name": "Constant", "learning_rate": _first_lr(section), "warmup_epoch": epochs,
                "warmup_start_lr": section.get("warmup_start_lr", 0.0),
                "step_on": "epoch" if section.get("by_epoch") else "step"}
    if section.get("last_epoch", -1) != -1:
        raise ConfigError("Optimizer.lr.last_epoch: resume with Global.checkpoints instead; "
                          "the schedule's position is restored from the checkpoint.")
    out = {k: v for k, v in section.items() if k not in (
        "name", "by_epoch", "decay_epochs", "values", "end_lr", "milestones", "last_epoch")}
    out["step_on"] = "epoch" if section.get("by_epoch") else "step"
    name = section.get("name")
    if name == "Piecewise":
        out.update(_piecewise(section))
    elif isinstance(name, str) and name in LR_NAMES:
        out["name"] = LR_NAMES[name]
        if name == "Linear":
            out["end_lr"] = section.get("end_lr", 0.0)
        if name == "MultiStepDecay":
            out["milestones"] = section.get("milestones")
    else:
        raise ConfigError(f"Optimizer.lr.name: the PaddleClas schedule {name!r} is not "
                          f"supported here{suggest(name, [*LR_NAMES, 'Piecewise'])}. "
                          f"Supported: {', '.join([*LR_NAMES, 'Piecewise'])}.")
    return out


def _first_lr(section: dict) -> float:
    values = section.get("values")
    return section.get("learning_rate") or (values[0] if values else 0.001)


def _piecewise(section: dict) -> dict:
    """Piecewise as MultiStep: PaddleClas decays 10x every 30 epochs when `learning_rate` is
    given (ignoring decay_epochs/values); else the values must fall by one factor."""
    if section.get("learning_rate"):
        return {"name": "Step", "learning_rate": section["learning_rate"], "step_size": 30,
                "gamma": 0.1}
    values, bounds = section.get("values") or [], section.get("decay_epochs") or []
    ratios = {round(b / a, 12) for a, b in zip(values, values[1:]) if a}
    if len(values) != len(bounds) + 1 or len(ratios) != 1:
        raise ConfigError("Optimizer.lr: this Piecewise schedule (values "
                          f"{values}, decay_epochs {bounds}) is not one factor at each "
                          "boundary; the suite's MultiStep needs that.")
    return {"name": "MultiStep", "learning_rate": values[0], "milestones": bounds,
            "gamma": ratios.pop()}


def _loaders(section: dict, notes: list) -> dict:
    out = {k: v for k, v in section.items() if k not in ("Train", "Eval")}
    for part in ("Train", "Eval"):
        if part in section:
            out[part] = _loader(section[part], f"DataLoader.{part}", part == "Train", notes)
    return out


def _loader(section, path: str, train: bool, notes: list) -> dict:
    if not isinstance(section, dict) or "transform_ops" not in (section.get("dataset") or {}):
        return section
    out = {}
    batch_ops = section["dataset"].get("batch_transform_ops")  # where PaddleClas reads them
    if batch_ops is not None and train:
        out["mix"] = _mix(batch_ops, f"{path}.dataset.batch_transform_ops")
    elif batch_ops is not None:
        raise ConfigError(f"{path}.dataset.batch_transform_ops: batches are mixed in training "
                          "only; remove it from the Eval data set.")
    for key, value in section.items():
        if key == "dataset":
            out["dataset"], out["transforms"] = _dataset(value, f"{path}.dataset")
        elif key == "sampler":
            out.update(_sampler(value, f"{path}.sampler", train))
        elif key == "loader":
            out.update(_worker_options(value, f"{path}.loader", notes))
        elif key == "batch_transform_ops" and train:
            out["mix"] = _mix(value, f"{path}.batch_transform_ops")
        else:
            out[key] = value
    return out


def _dataset(section: dict, path: str) -> tuple[dict, list]:
    if section.get("name") != "ImageNetDataset":
        raise ConfigError(f"{path}.name: {section.get('name')!r} is not supported with "
                          "transform_ops; the suite reads ImageNetDataset file lists.")
    allowed = ("name", "image_root", "cls_label_path", "delimiter", "transform_ops",
               "batch_transform_ops")
    for key in section:
        if key not in allowed:
            raise ConfigError(f"{path}.{key}: not supported (ImageNetDataset takes "
                              f"{', '.join(allowed[1:])}).")
    dataset = {"name": "FileList", "image_root": section.get("image_root"),
               "cls_label_path": section.get("cls_label_path")}
    if section.get("delimiter") not in (None, " "):
        dataset["delimiter"] = section["delimiter"]
    from .paddleclas_ops import transform_ops
    return dataset, transform_ops(section["transform_ops"], f"{path}.transform_ops")


def _sampler(section: dict, path: str, train: bool) -> dict:
    if section.get("name") not in SAMPLERS:
        raise ConfigError(f"{path}.name: {section.get('name')!r} is not supported "
                          f"(supported: {', '.join(SAMPLERS)}).")
    out = {}
    for key, value in section.items():
        if key == "batch_size" or (key in ("shuffle", "drop_last") and train):
            out[key] = value
        elif key in ("shuffle", "drop_last"):
            if value:
                raise ConfigError(f"{path}.{key}: evaluation reads every sample, in order.")
        elif key != "name":
            raise ConfigError(f"{path}.{key}: not supported (batch_size, drop_last, shuffle).")
    return out


def _worker_options(section: dict, path: str, notes: list) -> dict:
    for key in section:
        if key not in ("num_workers", "use_shared_memory"):
            raise ConfigError(f"{path}.{key}: not supported (num_workers, use_shared_memory).")
    if "use_shared_memory" in section:
        notes.append(f"{path}.use_shared_memory")
    return {"num_workers": section["num_workers"]} if "num_workers" in section else {}


def _mix(items, path: str) -> dict:
    name, options = _only_item(items, path, "batch operator")
    kinds = {"MixupOperator": "mixup", "CutmixOperator": "cutmix"}
    if name not in kinds or set(options) - {"alpha"}:
        raise ConfigError(f"{path}: {name} {options} is not supported (MixupOperator or "
                          "CutmixOperator with alpha).")
    return {"name": kinds[name], "alpha": options.get("alpha", 0.2)}


def _metric(section: dict) -> dict:
    name, options = _only_item(section.get("Eval") or section.get("Train"),
                               "Metric.Eval", "metric")
    if name != "TopkAcc" or set(options) - {"topk"}:
        raise ConfigError(f"Metric.Eval[0].{name}: not supported; the suite reports TopkAcc "
                          "(topk).")
    for part in ("Train", "Eval"):  # an empty part (Mixup configs leave Train empty) agrees
        if section.get(part) and _only_item(section[part], f"Metric.{part}", "metric") != \
                (name, options):
            raise ConfigError(f"Metric.{part}: the suite reports the same top-k in training "
                              "and evaluation; make Metric.Train and Metric.Eval equal.")
    return {"topk": list(options.get("topk", [1, 5]))}


def _infer(section: dict, translated: dict, notes: list) -> dict:
    from .paddleclas_ops import transform_ops
    out = {}
    for key, value in section.items():
        if key == "batch_size":
            out[key] = value
        elif key == "infer_imgs":
            notes.append("Infer.infer_imgs (tools/infer.py takes --images)")
        elif key == "transforms":
            evaluation = (translated.get("DataLoader") or {}).get("Eval") or {}
            if transform_ops(value, "Infer.transforms") != evaluation.get("transforms"):
                raise ConfigError("Infer.transforms: the export's pre-processing is the Eval "
                                  "transforms (DataLoader.Eval.dataset.transform_ops); these "
                                  "differ from them. Make them equal or remove Infer.transforms.")
        elif key == "PostProcess":
            out.update(_post_process(value, translated))
        else:
            raise ConfigError(f"Infer.{key}: not supported (batch_size, infer_imgs, "
                              "transforms, PostProcess).")
    return out


def _post_process(section: dict, translated: dict) -> dict:
    if section.get("name") != "Topk" or set(section) - {"name", "topk", "class_id_map_file"}:
        raise ConfigError(f"Infer.PostProcess: {section!r} is not supported (name: Topk, "
                          "topk, class_id_map_file).")
    label_map = section.get("class_id_map_file")
    for part in ("Train", "Eval"):
        dataset = ((translated.get("DataLoader") or {}).get(part) or {}).get("dataset")
        if label_map and isinstance(dataset, dict) and dataset.get("name") == "FileList":
            dataset["label_map"] = label_map
    return {"topk": section["topk"]} if "topk" in section else {}


def _check_image_shape(shape, translated: dict) -> None:
    """Global.image_shape (PaddleClas's export shape) must be what the Eval transforms give."""
    if shape is None:
        return
    if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(v, int) for v in shape)):
        raise ConfigError(f"Global.image_shape: expected [channels, height, width], got {shape!r}.")
    channels = (translated.get("Arch") or {}).get("in_channels", 3)
    if shape[0] != channels:
        raise ConfigError(f"Global.image_shape: {shape} has {shape[0]} channels but "
                          f"Arch.in_channels is {channels}; make them agree (the model and its "
                          "export take Arch.in_channels).")
    from .paddleclas_ops import output_size
    evaluation = (translated.get("DataLoader") or {}).get("Eval") or {}
    size = output_size(evaluation.get("transforms") or [])
    if size is not None and list(size) != shape[1:]:
        raise ConfigError(f"Global.image_shape: {shape} but the Eval transforms give "
                          f"{list(size)} (height, width); the export uses the Eval transforms.")
