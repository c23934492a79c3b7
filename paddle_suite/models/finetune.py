"""Transfer learning: partial loading of pretrained weights, freezing, per-group LR.

- `load_pretrained(net, pointer)` loads every tensor whose name and shape match and reports
  the rest (skipped for a shape mismatch, e.g. a new classifier head; missing; unexpected).
  hapi's `Model.load(skip_mismatch=True)` crashes when the first tensor mismatches (see
  tests/unit/test_finetune.py); this does not.
- `apply_finetune(net, mode, head, freeze, lr_mult)`: `train_all`, `train_head` (everything
  but the head frozen, batch-norm statistics frozen too) or `predict_only`; extra freezing by
  name patterns; LR multipliers per name pattern that compose with every schedule (they set
  the parameter's own LR factor, which paddle multiplies with the scheduled LR).
"""
from __future__ import annotations

import fnmatch
import logging
import warnings
from typing import Literal

import numpy as np
from paddle import nn

from ..errors import OptionError, UserError
from ..runs.checkpoint import load_weights, weights_path
from .nets import batch_norm_layers

log = logging.getLogger("paddle_suite")


def load_pretrained(net: nn.Layer, pointer, allow_partial: bool = False,
                    head: list[str] | None = None) -> dict:
    """Load matching tensors from a weights file or run directory; return what happened.

    Only the classifier head (`head` patterns, default the last Linear layer) may stay
    unloaded (a new class count): any other tensor of the model that the file lacks or has
    in another shape is an error naming the counts and the first names, unless
    `allow_partial`, which loads what matches with a one-line summary (paddle's per-tensor
    warnings are gathered into it)."""
    path = weights_path(pointer)
    state = load_weights(path)
    own = net.state_dict()
    report = {"file": str(path), "loaded": [], "skipped_shape": [], "missing": [],
              "unexpected": sorted(set(state) - set(own))}
    matched = {}
    for name, tensor in own.items():
        if name not in state:
            report["missing"].append(name)
        elif list(np.shape(state[name])) != list(tensor.shape):
            report["skipped_shape"].append(f"{name} {list(np.shape(state[name]))} -> "
                                           f"{list(tensor.shape)}")
        else:
            matched[name] = np.asarray(state[name])
            report["loaded"].append(name)
    if not matched:
        raise UserError(f"Arch.pretrained: {path} matches no tensor of the model (file: "
                        f"{', '.join(list(state)[:4])}...; model: {', '.join(list(own)[:4])}...). "
                        "Not training from scratch silently: check the file and Arch.")
    if report["missing"] or report["skipped_shape"]:
        _refuse_partial(report, path, _head_or_none(net, head), allow_partial)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Skip loading for ...": summarised below instead
        net.set_state_dict(matched)
    log.info("pretrained %s: loaded %d tensors, skipped %d (shape), %d missing, %d unexpected",
             path, len(report["loaded"]), len(report["skipped_shape"]), len(report["missing"]),
             len(report["unexpected"]))
    for line in report["skipped_shape"]:
        log.info("  skipped (shape): %s", line)
    return report


def _head_or_none(net: nn.Layer, head) -> set[str]:
    """The head's parameter names; none for a network without a Linear layer (and no
    patterns naming its head)."""
    try:
        return set(head_parameters(net, head))
    except OptionError:
        return set()


def _refuse_partial(report: dict, path, head: set[str], allow_partial: bool) -> None:
    """A load that leaves more than the head unloaded trains most of the network from
    scratch: an error, or with `allow_partial` a loud warning."""
    unloaded = [n for n in report["missing"] if n not in head] + \
        [s.split(" ")[0] for s in report["skipped_shape"] if s.split(" ")[0] not in head]
    if not unloaded:
        return
    counts = (f"{len(report['loaded'])} tensors loaded, {len(unloaded)} of the model's outside "
              f"its head not loaded (first: {', '.join(unloaded[:3])}), "
              f"{len(report['unexpected'])} in the file unused")
    if allow_partial:
        log.warning("Arch.pretrained: PARTIAL LOAD of %s: %s (Arch.finetune.allow_partial)",
                    path, counts)
        return
    hint = (f"; the file's tensors are named like {', '.join(report['unexpected'][:3])}: it "
            "comes from another network (set Arch.name to that network)"
            if report["unexpected"] else "")
    raise UserError(f"Arch.pretrained: {path} does not fit the model: {counts}{hint}. Most of "
                    "the network would train from scratch. To load only what matches, set "
                    "Arch.finetune.allow_partial: true.")


def finetune_options(mode: Literal["train_all", "train_head", "predict_only"] = "train_all",
                     head: list[str] | None = None, freeze: list[str] | None = None,
                     lr_mult: dict | None = None, allow_partial: bool = False):
    """Keys of `Arch.finetune`: `head` and `freeze` are parameter-name patterns (fnmatch,
    e.g. 'features.*'); `lr_mult` maps patterns to LR multipliers (e.g. {'features.*': 0.1});
    `allow_partial` accepts `Arch.pretrained` weights that leave more than the head
    unloaded."""


def _matching(names, pattern: str, what: str) -> list[str]:
    found = [n for n in names if fnmatch.fnmatch(n, pattern)]
    if not found:
        raise OptionError(f"Arch.finetune.{what}: pattern {pattern!r} matches no parameter. "
                          f"Parameters look like: {', '.join(list(names)[:6])}.")
    return found


def head_parameters(net: nn.Layer, patterns: list[str] | None = None) -> list[str]:
    """Names of the head's parameters: those matching `patterns`, else the last Linear's."""
    names = [n for n, _ in net.named_parameters()]
    if patterns:
        return sorted({n for p in patterns for n in _matching(names, p, "head")})
    last = [name for name, layer in net.named_sublayers() if isinstance(layer, nn.Linear)]
    if not last:
        raise OptionError("Arch.finetune.head: the model has no Linear layer; name the head's "
                          "parameters with patterns.")
    return [n for n in names if n.startswith(last[-1] + ".")]


def _freeze_batch_norm(net: nn.Layer) -> int:
    """Keep batch-norm layers in inference mode (running statistics used, never updated)."""
    norms = batch_norm_layers(net)
    for layer in norms:
        layer.register_forward_pre_hook(lambda l, inputs: setattr(l, "training", False))
    return len(norms)


def apply_finetune(net: nn.Layer, mode: str = "train_all", head=None, freeze=None,
                   lr_mult=None, allow_partial: bool = False) -> dict:
    """Freeze and scale parameters as configured; return {trainable, frozen, lr_mult}."""
    params = dict(net.named_parameters())
    frozen = set()
    if mode in ("train_head", "predict_only"):
        keep = set(head_parameters(net, head)) if mode == "train_head" else set()
        frozen |= set(params) - keep
        _freeze_batch_norm(net)
    for pattern in freeze or []:
        frozen |= set(_matching(params, pattern, "freeze"))
    for name in frozen:
        params[name].stop_gradient = True
    scaled = {}
    for pattern, mult in (lr_mult or {}).items():
        if not isinstance(mult, (int, float)) or mult < 0:
            raise OptionError(f"Arch.finetune.lr_mult.{pattern}: expected a number >= 0.")
        for name in _matching(params, pattern, "lr_mult"):
            params[name].optimize_attr["learning_rate"] = float(mult)
            scaled[name] = float(mult)
    return {"trainable": sorted(set(params) - frozen), "frozen": sorted(frozen),
            "lr_mult": scaled}
