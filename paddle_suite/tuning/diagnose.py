"""Read learning curves (metrics.jsonl rows) and say what they show, with the usual action.

`diagnose(rows)` is a pure function of the per-epoch rows; each finding is a dict with
`case`, `evidence` and `action`. The cases are the classic ones: loss explosion / NaN, a
loss that stays flat from the start (bad init or an LR far too low), a plateau at a constant
LR (decay it), an LR decayed too early (the curve was still falling fast), a large
train/eval gap (overfitting: regularise or add data), a small gap at low accuracy
(underfitting: a bigger model or longer training), or healthy curves.
"""
from __future__ import annotations

import math


def _series(rows, key):
    return [r[key] for r in rows if isinstance(r.get(key), (int, float))]


def _finding(case, evidence, action):
    return {"case": case, "evidence": evidence, "action": action}


def _explosion(rows):
    losses = _series(rows, "train_loss") + _series(rows, "eval_loss")
    if any(not math.isfinite(v) for v in losses):
        return _finding("loss explosion", "a loss became NaN or infinite",
                        "lower the learning rate (10x), add warm-up or gradient clipping; "
                        "check the data for NaN/Inf")
    train = _series(rows, "train_loss")
    if len(train) >= 3 and train[-1] > 3 * min(train) and train[-1] > train[0]:
        return _finding("loss explosion", f"train loss rose from {min(train):.4g} to "
                        f"{train[-1]:.4g}", "lower the learning rate or clip gradients")
    return None


def _flat_start(rows, chance_loss):
    train = _series(rows, "train_loss")
    if len(train) < 3 or chance_loss is None:
        return None
    if abs(train[2] - train[0]) < 0.02 * train[0] and abs(train[0] - chance_loss) < \
            0.15 * chance_loss:
        return _finding("loss flat at the start", f"train loss stayed at {train[0]:.4g} "
                        f"(chance level log(C) = {chance_loss:.4g}) for 3 epochs",
                        "the network is not learning: check the initialisation (symmetric or "
                        "too small weights), raise the learning rate, run tools/sanity_check.py")
    return None


def _plateau(rows, window=5):
    evals = [(r["epoch"], r["eval_loss"], r.get("lr")) for r in rows if "eval_loss" in r]
    if len(evals) < window + 2:
        return None
    recent = evals[-window:]
    best_before = min(v for _, v, _ in evals[:-window])
    lrs = {lr for *_, lr in recent}
    if min(v for _, v, _ in recent) >= best_before * 0.999 and len(lrs) == 1:
        return _finding("plateau", f"eval loss has not improved for {window} epochs at a "
                        f"constant LR {recent[-1][2]:.3g}",
                        "decay the learning rate (e.g. Callbacks.PlateauDecay) or stop earlier")
    return None


def _decay_too_early(rows):
    lrs = _series(rows, "lr")
    losses = _series(rows, "eval_loss") or _series(rows, "train_loss")
    if len(lrs) < 6 or len(losses) < 6 or lrs[0] <= 0:
        return None
    early = len(lrs) // 3
    if lrs[early] < 0.1 * max(lrs[:2]):
        drop = (losses[max(early - 2, 0)] - losses[early]) / max(abs(losses[early]), 1e-12)
        if drop > 0.05:
            return _finding("LR decayed too early", f"by epoch {early + 1} the LR was already "
                            f"below 10% of its start while the loss was still falling "
                            f"{drop:.0%} per 2 epochs", "decay later or more slowly (longer "
                            "schedule, larger step_size / T_max, or plateau-driven decay)")
    return None


def _gap(rows, target_acc):
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
    if gap < 0.02 and r["eval_acc"] < target_acc:
        return _finding("underfitting", f"train {r['train_acc']:.4f} and eval "
                        f"{r['eval_acc']:.4f} are close but low", "a bigger model, longer "
                        "training or a higher learning rate; less regularisation")
    return None


def diagnose(rows: list[dict], num_classes: int | None = None,
             target_acc: float = 0.9) -> list[dict]:
    """What the per-epoch curves show; at least one finding ('healthy' when nothing fires)."""
    chance = math.log(num_classes) if num_classes and num_classes > 1 else None
    findings = [f for f in (_explosion(rows), _flat_start(rows, chance), _plateau(rows),
                            _decay_too_early(rows), _gap(rows, target_acc)) if f]
    if not rows:
        return [_finding("no data", "metrics.jsonl has no rows", "train for at least one epoch")]
    return findings or [_finding("healthy", "losses fall, the gap is small and accuracy is "
                                 f"at least {target_acc:.0%}", "train longer or tune for the "
                                 "last points of accuracy")]
