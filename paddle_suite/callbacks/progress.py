"""Progress output: a tqdm bar (ETA, samples/s) in a terminal, plain lines otherwise."""
from __future__ import annotations

import logging
import sys

from .monitor import scalar
from .run_state import RunCallback, run_epoch, state_of, total_epochs

log = logging.getLogger("paddle_suite")


def _fmt(logs: dict, keys) -> str:
    return " ".join(f"{k} {scalar(logs[k]):.4f}" for k in keys if k in logs)


class ProgressLogger(RunCallback):
    """Show training progress.

    In a terminal: one tqdm bar per epoch with the running loss/accuracy and samples/s.
    Otherwise (CI, files): a line every `log_interval` steps and one per epoch and eval, all
    through the `paddle_suite` logger (so they also reach train.log).
    """

    def __init__(self, log_interval: int = 50, metric_names=("loss", "acc"), lr_getter=None,
                 use_bar: bool | None = None):
        super().__init__()
        self.log_interval, self.metric_names, self.lr_getter = log_interval, metric_names, lr_getter
        self.use_bar = sys.stderr.isatty() if use_bar is None else use_bar
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = run_epoch(self, epoch)
        if self.use_bar:
            from tqdm import tqdm
            self.bar = tqdm(total=self.params.get("steps"), unit="batch", leave=False,
                            desc=f"epoch {self.epoch}/{total_epochs(self)}")

    def on_train_batch_end(self, step, logs=None):
        logs = logs or {}
        if (step + 1) % self.log_interval and not self.bar:
            return
        rate = state_of(self).samples_per_second
        if self.bar is not None:
            self.bar.update(1)
            if (step + 1) % self.log_interval == 0:
                self.bar.set_postfix_str(f"{_fmt(logs, self.metric_names)} {rate:.0f} samples/s")
        else:
            log.info("epoch %d step %d/%s %s %.0f samples/s", self.epoch, step + 1,
                     self.params.get("steps"), _fmt(logs, self.metric_names), rate)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        state = state_of(self)
        lr = f" lr {self.lr_getter():.3g}" if self.lr_getter else ""
        log.info("epoch %d/%s train %s%s %.1fs %.0f samples/s", self.epoch, total_epochs(self),
                 _fmt(logs or {}, self.metric_names), lr, state.epoch_seconds,
                 state.samples_per_second)

    def on_eval_end(self, logs=None):
        logs = logs or {}
        names = [k for k in logs if k.startswith("acc")] + ["loss"]
        log.info("eval  epoch %s step %s %s", logs.get("epoch", "?"), logs.get("step", "?"),
                 _fmt(logs, names))
