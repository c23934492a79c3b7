"""Checkpoint policy: keep the last weights, the best, and the top-k by a monitored metric."""
from __future__ import annotations

from pathlib import Path

from ..runs.checkpoint import remove_stray_temp_files
from ..runs.store import CheckpointStore
from .monitor import Monitor
from .run_state import RunCallback, state_of


def rank_top_k(entries: list[tuple[float, str]], k: int, mode: str) -> tuple[list, list]:
    """Split (value, path) entries into the k best to keep and the rest to delete."""
    ordered = sorted(entries, key=lambda e: e[0], reverse=(mode == "max"))
    return ordered[:k], ordered[k:]


class CheckpointSaver(RunCallback):
    """Write `best.pdparams` whenever the evaluation improved the run's monitored metric
    (the RunState says so), and with `top_k` > 1 keep the k best evaluations as
    `top-e{epoch}-{metric}{value}.pdparams`. Every file is replaced atomically, so an
    interruption never leaves a half-written checkpoint behind. Files go through the run's
    `CheckpointStore`: a top-k file of the best evaluation is a link to `best.pdparams`, and
    the epoch's resume checkpoint links to it too. (`last.pdparams` / `last.pdopt` are links
    into the resume checkpoint: ResumeState.)
    """

    def __init__(self, directory: str | Path, monitor: Monitor, top_k: int = 1,
                 store: CheckpointStore | None = None):
        super().__init__()
        self.store = store or CheckpointStore()
        self.directory, self.monitor = Path(directory), monitor
        self.top_k = top_k
        self.kept = []

    def on_train_begin(self, logs=None):
        self.kept = []
        state = state_of(self)
        if state.monitor is None:  # used on its own: the clock judges by this monitor
            state.monitor = self.monitor
        self.directory.mkdir(parents=True, exist_ok=True)
        remove_stray_temp_files(self.directory)

    def on_eval_end(self, logs=None):
        value = self.monitor.read(logs)
        if value is None or value != value:
            return
        epoch = (logs or {}).get("epoch")
        if state_of(self).improved:
            self.store.save(self.model.network.state_dict(), self.directory / "best.pdparams")
        if self.top_k > 1:
            self._update_top_k(value, epoch, (logs or {}).get("step"))

    def _update_top_k(self, value: float, epoch, step) -> None:
        name = f"top-e{epoch:03d}-s{step}-{self.monitor.name}{value:.4f}.pdparams"
        if any(kept == name for _, kept in self.kept):
            return  # this very step was ranked already (its file must not be evicted)
        keep, drop = rank_top_k(self.kept + [(value, name)], self.top_k, self.monitor.mode)
        if (value, name) in keep:
            self.store.save(self.model.network.state_dict(), self.directory / name)
        for _, old in drop:
            (self.directory / old).unlink(missing_ok=True)
        self.kept = keep

    def state_dict(self) -> dict:
        return {"kept": list(self.kept)}

    def load_state_dict(self, state: dict) -> None:
        self.kept = [tuple(k) for k in state["kept"]]
