"""Read learning curves (metrics.jsonl rows) and say what they show, with the usual action.

`diagnose(rows, num_classes, target_acc, setup)` is a pure function of the per-epoch rows
(and, in `setup`, the run's init scheme, output spread and weight decay); each finding is a
dict with `case`, `evidence`, `action` and `certainty` ("clear" when the evidence separates
the causes, "two causes" when it fits both it names, "likely" for one rule's reading), the
most likely cause first. The cases, checked in this order:

- `not learning`: a symmetric init (zeros, constant) kept every unit identical, so the
  loss stays at ln C;
- `LR too high`: a loss became NaN or infinite, or rose far above its best;
- a collapse: every eval image gets the same scores (`setup["output_spread"]`; without it,
  the loss settled at ln C after a first epoch far above it) and the accuracy stays at
  chance, whatever the loss. The weights' records (callbacks/weight_stats.py) tell the
  cause: their norm fell to a fifth of its start, epoch after epoch, with moderate updates:
  `weight decay too strong`; updates of a tenth of the weights' size or more, or a norm
  that tripled: `LR too high`; neither (or no records): `LR too high or weight decay too
  strong`, with the two short runs that tell them apart;
- `weight decay too strong` before a collapse: accuracy low while the norm shrinks so;
  `LR too high` likewise when the updates were a tenth of the weights or the norm tripled;
- `LR too low`: the loss falls every epoch but has not even halved, and accuracy is low;
- `LR decayed too early`: the LR fell below a tenth of its start in the first third of the
  run, after which the loss fell less than 2% (and less than before);
- `overfitting`: a large train/eval accuracy gap;
- `plateau`: at a constant LR, the eval loss gained less than 1% and the train loss less
  than 3% over the last 5 epochs;
- `underfitting`: a small gap at low accuracy once the loss has flattened (a bigger model,
  less regularisation);
- `healthy` when nothing fires.

Each rule is checked against real runs of these set-ups in bench/advice_panel.py.
"""
from __future__ import annotations

import math

SYMMETRIC_INITS = ("zeros", "constant")
BROKEN = ("not learning", "LR too high", "weight decay too strong",
          "LR too high or weight decay too strong")


def _series(rows, key):
    return [r[key] for r in rows if isinstance(r.get(key), (int, float))]


def _finding(case, evidence, action, certainty="likely"):
    """A finding; `certainty`: "clear" (the evidence separates the causes), "likely" (one
    rule's reading of the curves) or "two causes" (the evidence fits both it names)."""
    return {"case": case, "evidence": evidence, "action": action, "certainty": certainty}


def _at_chance(rows, chance_loss, num_classes) -> bool:
    """The last epoch's losses within 1% of ln C and its accuracy within 5 points of 1/C,
    and no eval accuracy above that in the second half of the run."""
    train, evals = _series(rows, "train_loss"), _series(rows, "eval_loss")
    accs = _series(rows, "eval_acc") or _series(rows, "train_acc")
    if not train or chance_loss is None or not accs:
        return False
    last = [train[-1]] + evals[-1:]
    ceiling = 1.0 / num_classes + 0.05
    return all(abs(v - chance_loss) <= 0.01 * chance_loss for v in last) and \
        max(accs[len(accs) // 2:]) <= ceiling


def _symmetric(rows, chance_loss, num_classes, setup):
    init = (setup or {}).get("init")
    if init in SYMMETRIC_INITS and _at_chance(rows, chance_loss, num_classes):
        return _finding("not learning", f"Arch.init {init!r} gives every unit of a layer the "
                        f"same weights; they get the same gradients and stay the same, and "
                        f"the loss stays at ln C = {chance_loss:.4g}",
                        "use a random init (Arch.init: {name: xavier}, or the layers' "
                        "defaults); tools/sanity_check.py shows it before training")
    return None


CONSTANT_OUTPUT = 1e-3  # output spread below this: the same scores for every input
BIG_UPDATE = 0.1   # an update moving the weights by a tenth of their norm (healthy: ~1e-3)
SHRUNK = 0.2       # the weights' norm at a fifth of where training started, or below
LOWER_LR = ("lower the learning rate 10x (tools/lr_find.py suggests one), add warm-up or "
            "gradient clipping")


def _lr_too_high(rows):
    losses = _series(rows, "train_loss") + _series(rows, "eval_loss")
    if any(not math.isfinite(v) for v in losses):
        return _finding("LR too high", "a loss became NaN or infinite", LOWER_LR +
                        "; check the data for NaN/Inf")
    train = _series(rows, "train_loss")
    if len(train) >= 3 and train[-1] > 3 * min(train) and train[-1] > train[0]:
        return _finding("LR too high", f"train loss rose from {min(train):.4g} to "
                        f"{train[-1]:.4g}", LOWER_LR)
    return None


def _collapse(rows, chance_loss, num_classes, setup):
    """Every input gets the same scores and the accuracy stays at chance, whatever the
    loss; the weights' records tell an LR too high from weight decay too strong."""
    evidence = _constant_output(rows, chance_loss, num_classes, setup)
    if evidence is None:
        return None
    cause, weights = _weights_verdict(rows)
    if cause is None and (setup or {}).get("weight_decay") == 0:
        cause, weights = "lr", "the run has no weight decay, so only the LR can have done it"
    if cause == "decay":
        return _decay_finding(f"the network collapsed to a constant output: {evidence}; "
                              f"{weights}")
    if cause == "lr":
        return _finding("LR too high", f"the network collapsed to a constant output: "
                        f"{evidence}; {weights}. Its units died, so no gradient flows back",
                        LOWER_LR, "clear")
    known = f"; {weights}" if weights else ""
    return _finding("LR too high or weight decay too strong",
                    f"the network collapsed to a constant output: {evidence}{known}. Both "
                    "an LR that killed the units early and a weight decay that pulled the "
                    "weights to zero end like this",
                    "tell them apart with two short runs: one without the regularizer "
                    "(-o Optimizer.regularizer=null, or weight_decay: 0 for AdamW) and one "
                    "at a tenth of the LR; the one that learns names the cause", "two causes")


def _constant_output(rows, chance_loss, num_classes, setup) -> str | None:
    accs = _series(rows, "eval_acc") or _series(rows, "train_acc")
    if not accs or not num_classes or max(accs[len(accs) // 2:]) > 1.0 / num_classes + 0.05:
        return None
    spread = (setup or {}).get("output_spread")
    if isinstance(spread, (int, float)) and math.isfinite(spread):
        return (f"every eval image gets the same scores (spread {spread:.1e}) and the "
                f"accuracy stays at chance ({accs[-1]:.3f})") if spread < CONSTANT_OUTPUT \
            else None
    train = _series(rows, "train_loss")
    if _at_chance(rows, chance_loss, num_classes) and train and train[0] > 1.1 * chance_loss:
        return (f"the loss settled at ln C = {chance_loss:.4g} and the accuracy at chance, "
                f"after a first epoch at {train[0]:.4g}")
    return None


def _weights_verdict(rows) -> tuple[str | None, str]:
    """("decay" | "lr" | None, what the weight norms and update ratios show)."""
    starts, ends = _series(rows, "weight_norm_start"), _series(rows, "weight_norm")
    ratios = _series(rows, "update_ratio")
    if not starts or not ends:
        return None, ""
    first, last = starts[0], ends[-1]
    shrank = last <= SHRUNK * first and _falling([first, *ends]) >= 0.7
    early = ratios[0] if ratios else 0.0
    blew = early >= BIG_UPDATE or max(ends) >= 3 * first
    text = (f"the weights' norm went from {first:.4g} to {last:.4g} over {len(ends)} "
            f"epoch(s), the first epoch's updates each moved them by {early:.2g} of their "
            f"size (healthy: about 1e-3)")
    if shrank and not blew:
        return "decay", text
    if blew and not shrank:
        return "lr", text
    return None, text


def _decay_finding(evidence: str) -> dict:
    return _finding("weight decay too strong", f"{evidence}: the regularisation pulls the "
                    "weights to zero faster than the data pushes them",
                    "lower the weight decay 10x (Optimizer.regularizer.coeff, or weight_decay "
                    "for AdamW); under Adam prefer AdamW's decoupled decay to L2", "clear")


def _weights_before_collapse(rows, target_acc):
    """No clean collapse, but accuracy is low and the weights' records name a cause: the
    updates were a tenth of the weights or the norm tripled (the LR), or the norm keeps
    shrinking towards zero (the weight decay)."""
    accs = _series(rows, "eval_acc") or _series(rows, "train_acc")
    cause, weights = _weights_verdict(rows)
    if not accs or accs[-1] >= target_acc:
        return None
    if cause == "lr":
        return _finding("LR too high", f"accuracy {accs[-1]:.4f}; {weights}", LOWER_LR, "clear")
    if cause == "decay":
        return _decay_finding(f"accuracy {accs[-1]:.4f} and {weights}")
    return None


def _falling(values) -> float:
    """The share of epochs whose value is below the previous one's."""
    pairs = list(zip(values, values[1:]))
    return sum(b < a for a, b in pairs) / len(pairs) if pairs else 0.0


def _lr_too_low(rows, target_acc):
    train = _series(rows, "train_loss")
    accs = _series(rows, "eval_acc") or _series(rows, "train_acc")
    if len(train) < 3 or not accs or accs[-1] >= target_acc:
        return None
    if _falling(train) >= 0.8 and train[-1] > 0.5 * train[0]:
        return _finding("LR too low", f"the train loss fell every epoch, but only from "
                        f"{train[0]:.4g} to {train[-1]:.4g}, and accuracy is {accs[-1]:.4f}",
                        "raise the learning rate (10x, or run tools/lr_find.py); training "
                        "longer at this LR would get there slowly")
    return None


def _decay_too_early(rows):
    lrs = _series(rows, "lr")
    losses = _series(rows, "eval_loss") or _series(rows, "train_loss")
    if len(lrs) < 6 or len(losses) < 6 or lrs[0] <= 0:
        return None
    start = max(lrs[:2])
    decayed = next((i for i, lr in enumerate(lrs) if lr < 0.1 * start), None)
    if decayed is None or decayed > len(lrs) // 3:
        return None
    before = (losses[0] - losses[decayed]) / max(abs(losses[0]), 1e-12)
    after = (losses[decayed] - losses[-1]) / max(abs(losses[decayed]), 1e-12)
    if after < 0.02 and before > after:
        return _finding("LR decayed too early", f"by epoch {decayed + 1} the LR was below 10% "
                        f"of its start; the loss fell {before:.0%} before that and "
                        f"{max(after, 0):.1%} in the {len(losses) - decayed - 1} epochs after",
                        "decay later or more slowly (longer schedule, larger step_size / "
                        "T_max, or plateau-driven decay)")
    return None


def _overfitting(rows):
    last = [r for r in rows if "eval_acc" in r and "train_acc" in r]
    if not last:
        return None
    r = last[-1]
    gap = r["train_acc"] - r["eval_acc"]
    if gap > 0.05:
        return _finding("overfitting", f"train accuracy {r['train_acc']:.4f} vs eval "
                        f"{r['eval_acc']:.4f} (gap {gap:.3f})", "more regularisation "
                        "(weight decay, dropout, augmentation, label smoothing) or more data; "
                        "keep the best epoch (EarlyStopping)")
    return None


def _plateau(rows, window=5):
    evals = [(r["eval_loss"], r.get("train_loss"), r.get("lr")) for r in rows
             if "eval_loss" in r]
    if len(evals) < window + 2:
        return None
    recent, earlier = evals[-window:], evals[:-window]
    lrs = {lr for *_, lr in recent}
    eval_stuck = min(v for v, _, _ in recent) >= min(v for v, _, _ in earlier) * 0.99
    trains = [t for _, t, _ in evals if t is not None]
    train_stuck = not trains or min(trains[-window:]) >= 0.97 * min(trains[:-window])
    if eval_stuck and train_stuck and len(lrs) == 1:
        return _finding("plateau", f"in the last {window} epochs at a constant LR "
                        f"{recent[-1][2]:.3g}, the eval loss gained under 1% and the train "
                        f"loss under 3%",
                        "decay the learning rate (e.g. Callbacks.PlateauDecay or a "
                        "schedule) or stop earlier")
    return None


def _underfitting(rows, target_acc):
    last = [r for r in rows if "eval_acc" in r and "train_acc" in r]
    if not last:
        return None
    r = last[-1]
    if r["train_acc"] - r["eval_acc"] < 0.02 and r["eval_acc"] < target_acc:
        return _finding("underfitting", f"train {r['train_acc']:.4f} and eval "
                        f"{r['eval_acc']:.4f} are close but low, and the loss has flattened",
                        "a bigger model or longer training; less regularisation")
    return None


def diagnose(rows: list[dict], num_classes: int | None = None,
             target_acc: float = 0.9, setup: dict | None = None) -> list[dict]:
    """What the per-epoch curves show, the most likely cause first; at least one finding
    ('healthy' when nothing fires). `setup` (see `setup_of`): {"init": Arch.init's scheme
    name, "output_spread": the last evaluation's `output_spread`, "weight_decay": the
    Optimizer's}, each optional."""
    if not rows:
        return [_finding("no data", "metrics.jsonl has no rows", "train for at least one epoch")]
    chance = math.log(num_classes) if num_classes and num_classes > 1 else None
    findings = [f for f in (_symmetric(rows, chance, num_classes, setup),
                            _lr_too_high(rows),
                            _collapse(rows, chance, num_classes, setup),
                            _weights_before_collapse(rows, target_acc),
                            _lr_too_low(rows, target_acc),
                            _decay_too_early(rows), _overfitting(rows),
                            _plateau(rows), _underfitting(rows, target_acc)) if f]
    if findings and findings[0]["case"] in BROKEN:
        findings = findings[:1]  # the other rules read a broken run's curves as slow learning
    if any(f["case"] in ("LR too low", "weight decay too strong") for f in findings):
        findings = [f for f in findings if f["case"] != "underfitting"]
    return findings or [_finding("healthy", "losses fall, the gap is small and accuracy is "
                                 f"at least {target_acc:.0%}", "train longer or tune for the "
                                 "last points of accuracy")]


def output_spread(probs) -> float:
    """How much the predicted probabilities vary across samples: the largest, over classes,
    of their standard deviation. About 0 when the network gives every input the same
    scores (dead units: no gradient reaches the layers below)."""
    import numpy as np
    probs = np.asarray(probs, dtype=np.float64)
    return float(probs.std(axis=0).max()) if probs.ndim == 2 and len(probs) > 1 else float("nan")


def setup_of(arch: dict, summary: dict | None = None, optimizer: dict | None = None) -> dict:
    """The facts `diagnose` uses beside the curves: the init scheme from a resolved config's
    Arch section, the eval output spread from a run summary and the weight decay of its
    Optimizer section (an L2 regularizer's coefficient or AdamW's weight_decay; 0 for none,
    None when not given)."""
    init = (arch or {}).get("init")
    return {"init": init.get("name") if isinstance(init, dict) else init,
            "output_spread": (summary or {}).get("eval_output_spread"),
            "weight_decay": None if optimizer is None else weight_decay_of(optimizer)}


def weight_decay_of(optimizer: dict) -> float:
    """The weight decay an Optimizer section applies: its L2 regularizer's coefficient, or
    the decoupled `weight_decay` of AdamW; 0 when it has neither."""
    regularizer = optimizer.get("regularizer")
    if isinstance(regularizer, dict) and regularizer.get("coeff"):
        return float(regularizer["coeff"])
    decay = optimizer.get("weight_decay")
    return float(decay) if isinstance(decay, (int, float)) else 0.0
