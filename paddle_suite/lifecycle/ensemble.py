"""Ensembles: average the softmax outputs of several weight files on the eval data."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config.loader import Config
from ..errors import UserError
from ..models import check_same_network
from ..runs.checkpoint import load_into, weights_path
from .engine import build


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def members_of(pointers: list[str], snapshots: bool = False) -> list[Path]:
    """Resolve run directories / files to weight files; with `snapshots`, a run directory
    stands for all its `checkpoints/snapshot-e*.pdparams`."""
    paths = []
    for pointer in pointers:
        p = Path(pointer)
        if snapshots and p.is_dir():
            found = sorted((p / "checkpoints").glob("snapshot-e*.pdparams"))
            if not found:
                raise UserError(f"{p}: no checkpoints/snapshot-e*.pdparams (train with "
                                "Callbacks.Snapshots and a restarting LR schedule).")
            paths += found
        else:
            paths.append(weights_path(p))
    if len(paths) < 2:
        raise UserError(f"An ensemble needs at least two members; got {len(paths)}.")
    return paths


def evaluate_ensemble(cfg: Config, members: list[Path]) -> dict:
    """Accuracy of each member (weight files, as `members_of` gives) and of the mean of
    their softmax outputs on the eval set."""
    for path in members:  # before the data and model are built
        check_same_network(path, cfg["Arch"])
    built = build(cfg, train=False)
    labels = built.data.eval.labels
    probs, rows = [], []
    for path in members:
        load_into(built.net, path)
        logits = built.model.predict(built.data.eval_loader, verbose=0, stack_outputs=True)[0]
        built.data.failures.check()
        probs.append(_softmax(logits))
        rows.append({"member": str(path), "acc": float((logits.argmax(1) == labels).mean())})
    mean = np.mean(probs, axis=0)
    best = max(rows, key=lambda r: r["acc"])
    return {"members": rows, "best_single": best, "ensemble_acc": float((mean.argmax(1) == labels).mean()),
            "samples": int(len(labels))}
