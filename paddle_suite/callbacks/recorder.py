"""Machine-readable run records: metrics.jsonl (one object per epoch) and the best metric."""
from __future__ import annotations

import json
from pathlib import Path

from .monitor import scalar
from .run_state import RunCallback, state_of


def _clean(logs: dict, prefix: str) -> dict:
    out = {}
    for key, value in (logs or {}).items():
        if key in ("step", "batch_size", "epoch", "eval_seconds"):
            continue
        try:
            out[f"{prefix}_{key}"] = scalar(value)
        except (TypeError, ValueError, IndexError):
            continue
    return out


def thin_trace(points: list, limit: int) -> list:
    """At most `limit` of `points`, evenly spread, the first and the last kept; LRs to 6
    significant digits."""
    if len(points) > limit:
        keep = sorted({round(i * (len(points) - 1) / (limit - 1)) for i in range(limit)})
        points = [points[i] for i in keep]
    return [[batch, float(f"{lr:.6g}")] for batch, lr in points]


class RunRecorder(RunCallback):
    """Append one JSON line per epoch to `path`, from the run's RunState and logs.

    Each line: epoch, lr (the LR of the epoch's last update), lr_trace ([batch, lr] at each
    batch where the LR changed, at most `TRACE_POINTS` kept evenly) and batches (the epoch's
    batch count), train_* (epoch means of the training metrics), eval_* (the epoch's
    evaluation, when one ran), seconds (train time of the epoch, evaluation excluded),
    samples_per_second, and what each of `extras` reports (`extra.row()`, e.g.
    `WeightStats`: the weights' norm and update ratio). It listens to the Evaluator (phase
    WATCH).
    """

    TRACE_POINTS = 200

    def __init__(self, path: str | Path | None, lr_getter=None, extras=()):
        super().__init__()
        self.path = Path(path) if path is not None else None  # None: keep history in memory
        self.lr_getter = lr_getter
        self.extras = list(extras)
        self.reset()

    def reset(self):
        self.last_eval, self.history = {}, []

    def on_train_begin(self, logs=None):
        self.reset()

    def on_epoch_begin(self, epoch, logs=None):
        self.lr, self.lr_trace = None, []

    def on_train_batch_begin(self, step, logs=None):
        if self.lr_getter is not None:
            self.lr = self.lr_getter()
            if not self.lr_trace or self.lr_trace[-1][1] != self.lr:
                # the RunState has counted the epoch's finished batches: this one's index
                self.lr_trace.append([state_of(self).epoch_batches, self.lr])

    def on_eval_end(self, logs=None):
        self.last_eval = dict(logs or {})

    def on_epoch_end(self, epoch, logs=None):
        state = state_of(self)
        row = {"epoch": state.epoch,
               "lr": self.lr,
               "lr_trace": thin_trace(self.lr_trace, self.TRACE_POINTS),
               "batches": state.epoch_batches,
               **_clean(logs, "train")}
        if self.last_eval.get("epoch") == state.epoch:
            row.update(_clean(self.last_eval, "eval"))
        row.update(seconds=round(state.epoch_seconds, 4),
                   samples_per_second=round(state.samples_per_second, 1))
        for extra in self.extras:
            row.update(extra.row())
        self.history.append(row)
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row, allow_nan=True) + "\n")

    def state_dict(self) -> dict:
        return {"last_eval": {k: scalar(v) for k, v in self.last_eval.items()},
                "history": list(self.history)}

    def load_state_dict(self, state: dict) -> None:
        self.last_eval, self.history = dict(state["last_eval"]), list(state["history"])

    def epoch_state(self) -> dict:
        """The current epoch's learning rates so far (a mid-epoch checkpoint)."""
        return {"lr": self.lr, "lr_trace": [list(point) for point in self.lr_trace]}

    def load_epoch_state(self, state: dict) -> None:
        self.lr, self.lr_trace = state["lr"], [list(point) for point in state["lr_trace"]]
