"""Evaluation on a cadence: every N epochs (always after the last) and/or every N steps."""
from __future__ import annotations

import copy
import time

from .hapi_fixes import preserved_logs, preserved_num_iters
from .run_state import Phase, RunCallback, run_epoch, state_of


class Evaluator(RunCallback):
    """Run `model.evaluate` on `loader` and hand the logs to `listeners`' `on_eval_end`.

    Use it instead of `fit(eval_data=...)` (pass `eval_data=None`), before its listeners in
    the callback list: it evaluates in `on_epoch_end`, so the listeners see the eval results
    before their own `on_epoch_end` of the same epoch. hapi evaluates after epochs 1, N+1,
    2N+1... (`epoch % eval_freq == 0`); this evaluates after epochs N, 2N... and the last.

    Mid-epoch evaluations (every_steps) save the train metrics' running state, reset the
    metrics, evaluate, and restore the state: `Model.evaluate` shares the metric objects
    with training and resets them only at the end of its pass.
    Eval logs carry `epoch` (1-based), `step` (global train step) and `eval_seconds`.
    `variants` (e.g. an EMA callback: objects with `name` and `swapped(net)`) are evaluated
    too, with their metrics added as `<name>_<metric>` (e.g. `ema_acc`). `checks` are called
    after each evaluation, before anyone sees its results (e.g. a data-failure check);
    `prepare` hooks before each (e.g. averaging BatchNorm statistics over processes).
    """

    phase = Phase.EVALUATE

    def __init__(self, loader, listeners, every_epochs: int = 1, every_steps: int = 0,
                 metrics=(), variants=(), checks=(), prepare=()):
        super().__init__()
        self.checks, self.prepare = list(checks), list(prepare)
        self.loader, self.listeners, self.variants = loader, list(listeners), list(variants)
        self.every_epochs, self.every_steps = every_epochs, every_steps
        self.metrics = list(metrics)
        self.evaluated_step = None

    @property
    def global_step(self) -> int:
        return state_of(self).global_step

    def on_train_begin(self, logs=None):
        self.evaluated_step = None

    def on_train_batch_end(self, step, logs=None):
        if self.every_steps and self.global_step % self.every_steps == 0:
            saved = [copy.deepcopy(m.__dict__) for m in self.metrics]
            with preserved_logs(logs):
                self.run(state_of(self).epoch)
            for metric, state in zip(self.metrics, saved):
                metric.__dict__.update(state)

    def on_epoch_end(self, epoch, logs=None):
        last, number = epoch + 1 == self.params.get("epochs"), run_epoch(self, epoch)
        if self.evaluated_step == self.global_step:
            return  # a step evaluation fell on the epoch's last step: same weights, done
        if self.every_epochs and (number % self.every_epochs == 0 or last):
            with preserved_logs(logs):
                self.run(number)

    def run(self, epoch: int) -> dict:
        """Evaluate now and notify the listeners; returns the eval logs."""
        with preserved_num_iters(self.model):
            return self._run(epoch)

    def _run(self, epoch: int) -> dict:
        for hook in self.prepare:
            hook()
        for cb in self.listeners:
            cb.on_eval_begin({"steps": len(self.loader)})
        for metric in self.metrics:  # hapi resets metrics after a pass, not before it
            metric.reset()
        start = time.perf_counter()
        logs = dict(self.model.evaluate(self.loader, verbose=0))
        for variant in self.variants:
            with variant.swapped(self.model.network):
                extra = self.model.evaluate(self.loader, verbose=0)
            logs.update({f"{variant.name}_{k}": v for k, v in extra.items()})
        for check in self.checks:
            check()
        logs.update(epoch=epoch, step=self.global_step,
                    eval_seconds=time.perf_counter() - start)
        self.evaluated_step = self.global_step
        self.clock_sees_evaluation(dict(logs))
        for cb in self.listeners:
            cb.on_eval_end(dict(logs))
        return logs

    def state_dict(self) -> dict:
        return {"evaluated_step": self.evaluated_step}

    def load_state_dict(self, state: dict) -> None:
        self.evaluated_step = state.get("evaluated_step")
