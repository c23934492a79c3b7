"""Parameter averaging: an exponential moving average of the weights (EMA) and stochastic
weight averaging over the last epochs (SWA)."""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import numpy as np
import paddle

from ..errors import OptionError
from ..models.nets import batch_norm_layers, trainable_parameters
from ..runs.checkpoint import atomic_save
from ..runs.resume_checkpoint import WeightSet
from .run_state import Phase, RunCallback, run_epoch

log = logging.getLogger("paddle_suite")


@contextlib.contextmanager
def swapped_weights(net, weights: dict):
    """Temporarily load `weights` (name -> array) into `net`'s parameters."""
    params = dict(net.named_parameters())
    saved = {n: params[n].numpy().copy() for n in weights}
    try:
        for name, value in weights.items():
            params[name].set_value(value)
        yield
    finally:
        for name, value in saved.items():
            params[name].set_value(value)


class EMA(RunCallback):
    """Keep an exponential moving average of the trainable weights, updated every batch.

    shadow = d * shadow + (1 - d) * weights, with d = min(decay, (1 + n) / (10 + n)) when
    `warmup` is on (so early averages are not dominated by the random init). Evaluated next
    to the raw weights as `ema_*` eval metrics (pass it to `Evaluator(variants=...)`), and
    written to `<directory>/ema.pdparams` (a normal state dict: evaluate or export it like any
    checkpoint) at every epoch end.
    """

    phase = Phase.AVERAGE

    name = "ema"

    def __init__(self, decay: float = 0.999, warmup: bool = True, directory=None):
        super().__init__()
        if not 0 < decay < 1:
            raise OptionError(f"decay: must be in (0, 1), got {decay}.")
        self.decay, self.warmup = decay, warmup
        self.directory = Path(directory) if directory else None
        self.shadow, self.updates = {}, 0

    def on_train_begin(self, logs=None):
        self.updates = 0
        self.shadow = {n: p.detach().clone() for n, p in trainable_parameters(self.model.network)}

    def on_train_batch_end(self, step, logs=None):
        self.updates += 1
        d = self.decay
        if self.warmup:
            d = min(d, (1 + self.updates) / (10 + self.updates))
        with paddle.no_grad():
            for name, param in trainable_parameters(self.model.network):
                shadow = self.shadow[name]
                paddle.assign(shadow * d + param * (1 - d), output=shadow)

    def weights(self) -> dict:
        return {n: s.numpy() for n, s in self.shadow.items()}

    def swapped(self, net):
        """Context manager: evaluate `net` with the averaged weights inside it."""
        return swapped_weights(net, self.weights())

    def on_epoch_end(self, epoch, logs=None):
        if self.directory is not None:
            with self.swapped(self.model.network):
                atomic_save(self.model.network.state_dict(), self.directory / "ema.pdparams")

    def state_dict(self) -> dict:
        return {"updates": self.updates, "shadow": WeightSet(self.weights())}

    def load_state_dict(self, state: dict) -> None:
        self.updates = state["updates"]
        self.shadow = {n: paddle.to_tensor(v) for n, v in state["shadow"].items()}


def recompute_batch_norm(net, loader, max_batches: int | None = None) -> int:
    """Re-estimate every BatchNorm's running mean/variance as an exact average over `loader`.

    Returns the number of BatchNorm layers updated (0: nothing to do, loader not read).
    """
    norms = batch_norm_layers(net)
    if not norms:
        return 0
    saved = [l._momentum for l in norms]  # paddle keeps the running-average momentum private
    for layer in norms:
        layer._mean.set_value(np.zeros(layer._mean.shape, "float32"))
        layer._variance.set_value(np.ones(layer._variance.shape, "float32"))
    was_training = net.training
    net.train()
    with paddle.no_grad():
        for t, (images, _) in enumerate(loader):
            if max_batches is not None and t >= max_batches:
                break
            for layer in norms:
                layer._momentum = t / (t + 1)  # running = cumulative mean of batch statistics
            net(images)
    for layer, momentum in zip(norms, saved):
        layer._momentum = momentum
    net.train() if was_training else net.eval()
    return len(norms)


class SWA(RunCallback):
    """Stochastic weight averaging: average the weights at the end of each epoch from
    `start_epoch` (1-based) on. At the end of training the average is written to
    `<directory>/swa.pdparams`, with BatchNorm statistics recomputed over `bn_loader` when the
    model has batch norm, and evaluated on `eval_loader` when one is given (`result`).
    `sync_buffers(net)`, when given, runs after the recomputation (data-parallel runs average
    the statistics of every process's shard with it).
    """

    phase = Phase.AFTER_STEP

    name = "swa"

    def __init__(self, start_epoch: int, directory=None, bn_loader=None, eval_loader=None,
                 sync_buffers=None):
        super().__init__()
        self.sync_buffers = sync_buffers
        self.start_epoch, self.bn_loader, self.eval_loader = start_epoch, bn_loader, eval_loader
        self.directory = Path(directory) if directory else None
        self.average, self.count, self.result = {}, 0, None

    def on_train_begin(self, logs=None):
        self.average, self.count, self.result = {}, 0, None

    def on_epoch_end(self, epoch, logs=None):
        if run_epoch(self, epoch) < self.start_epoch:
            return
        self.count += 1
        for name, param in trainable_parameters(self.model.network):
            value = param.numpy().astype(np.float64)
            prev = self.average.get(name, 0.0)
            self.average[name] = prev + (value - prev) / self.count

    def on_train_end(self, logs=None):
        if not self.count:
            log.info("swa: no epoch reached start_epoch %d; nothing averaged", self.start_epoch)
            return
        net = self.model.network
        weights = {n: v.astype("float32") for n, v in self.average.items()}
        live = {n: t.numpy().copy() for n, t in net.state_dict().items()}  # BN stats included
        with swapped_weights(net, weights):
            if self.bn_loader is not None and recompute_batch_norm(net, self.bn_loader) \
                    and self.sync_buffers is not None:
                self.sync_buffers(net)
            if self.directory is not None:
                atomic_save(net.state_dict(), self.directory / "swa.pdparams")
            if self.eval_loader is not None:
                self.result = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in
                               self.model.evaluate(self.eval_loader, verbose=0).items()}
                log.info("swa over %d epochs: eval %s", self.count, self.result)
        net.set_state_dict(live)  # the live model keeps its weights and BatchNorm statistics

    def state_dict(self) -> dict:
        return {"average": WeightSet(self.average), "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.average, self.count = dict(state["average"]), state["count"]
