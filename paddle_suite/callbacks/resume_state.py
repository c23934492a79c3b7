"""Write a resume checkpoint after every epoch; restore one when training starts."""
from __future__ import annotations

import logging
import time
from pathlib import Path


from ..resume import CheckpointError, Resume, link_last, rng_state, save_resume, set_rng_state
from .run_state import Phase, run_epoch, RunCallback

log = logging.getLogger("paddle_suite")


class ResumeState(RunCallback):
    """Keeps a run resumable: after each epoch, a checkpoint of the weights, the optimizer
    (LR schedule position included), every callback in `stateful` (name -> callback with
    `state_dict`/`load_state_dict`) and the random states, with `last.pdparams` and
    `last.pdopt` beside `directory` hard-linked to its weights and optimizer state, and
    whether a callback stopped the run at that epoch (`stopped`: a resume then only finishes
    the run's final files); with `resume`, restores them all when `fit` starts.

    Phase PERSIST, after every other callback: its `on_epoch_end` must see every other callback's
    end-of-epoch state, and its `on_train_begin` must run after theirs (which reset state).
    Network and optimizer are restored by the caller before `fit`.
    """

    phase = Phase.PERSIST

    def __init__(self, directory, optimizer, stateful: dict, resume: Resume | None = None,
                 callback_state: dict | None = None,
                 saved: dict | None = None):
        super().__init__()
        self.saved = dict(saved or {})  # e.g. the config signature and the LR plan
        self.started, self.wall_before = time.perf_counter(), 0.0
        self.directory = Path(directory) if directory is not None else None
        self.optimizer = optimizer
        self.stateful, self.resume = stateful, resume
        self.callback_state = callback_state

    def wall_seconds(self) -> float:
        """Wall time of the whole run: every segment before a resume, and this one."""
        return self.wall_before + time.perf_counter() - self.started

    def check_restorable(self) -> None:
        """Load every saved callback state once now, before training starts, so an altered
        checkpoint is a named error before the run goes on (`on_train_begin` restores them
        again after the callbacks' own resets)."""
        if self.resume:
            self._restore_callbacks()

    def _restore_callbacks(self) -> None:
        try:
            for name, callback in self.stateful.items():
                if name in self.callback_state["callbacks"]:
                    callback.load_state_dict(self.callback_state["callbacks"][name])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise CheckpointError(f"{self.resume.path / 'state.pkl'}: its saved state does not "
                                  f"restore ({type(exc).__name__}: {exc}); the checkpoint was "
                                  "altered. Remove it to resume from the one before.") from None

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()
        if self.resume:
            self.wall_before = float(self.callback_state.get("wall_seconds", 0.0))
        if not self.resume:
            return
        self._restore_callbacks()
        set_rng_state(self.callback_state["rng"])
        log.info("resumed from %s after epoch %d", self.resume.path, self.resume.epoch)

    def on_epoch_end(self, epoch, logs=None):
        if self.directory is None:  # a data-parallel rank other than 0: restores, never saves
            return
        states = {name: cb.state_dict() for name, cb in self.stateful.items()}
        stopped = bool(getattr(self.model, "stop_training", False))  # a callback's decision
        saved = save_resume(self.directory, run_epoch(self, epoch), self.model.network,
                            self.optimizer, {"callbacks": states, "rng": rng_state(),
                                             "wall_seconds": self.wall_seconds(),
                                             "stopped": stopped, **self.saved})
        link_last(saved, self.directory.parent)
