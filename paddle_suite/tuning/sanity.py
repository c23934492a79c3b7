"""Sanity checks before a long training run, each with a pass / warn / fail verdict and advice.

1. initial loss vs log(C) (softmax cross-entropy at chance);
2. symmetric initialisation (units of a layer with identical weights never differ);
3. overfitting a tiny subset to 100% train accuracy with regularisation off;
4. gradient and activation health per layer (vanishing / exploding gradient norms, dead ReLUs);
5. labels that carry signal: brief training on the real labels beats the same labels shuffled
   on held-out samples (Zhang et al. 2017).
"""
from __future__ import annotations

import math

import numpy as np
import paddle
from paddle import nn

from ..config.loader import Config
from ..data.sampling import balanced_indices
from ..errors import UserError
from ..lifecycle.engine import build
from ..models import build_model, last_linear
from ..training.losses import CrossEntropy
from ..training.optim import build_optimizer


def verdict(name, status, detail, advice=""):
    return {"check": name, "verdict": status, "detail": detail, "advice": advice}


def _batch(view, count: int, seed: int = 0):
    """`count` samples dealt evenly over the classes in a seeded order (data/sampling.py):
    an ImageFolder's first samples are all of its first class."""
    return _batch_of(view, balanced_indices(view.labels, count, seed))


def check_head(net, images, class_num) -> None:
    with paddle.no_grad():
        out = net(paddle.to_tensor(images[:2]))
    if out.ndim != 2 or out.shape[1] != class_num:
        raise UserError(f"Sanity checks need a classifier whose output is [N, {class_num}] "
                        f"(Arch.class_num); this model outputs {list(out.shape)}.")


def _cross_entropy(net, images, labels) -> float:
    with paddle.no_grad():
        return float(CrossEntropy()(net(paddle.to_tensor(images)), paddle.to_tensor(labels)))


def _head_scaled_loss(net, images, labels, factor: float = 0.1) -> float | None:
    """The initial loss with the last Linear layer's weights scaled by `factor` (restored
    after); None when the model has no Linear layer."""
    head = last_linear(net)
    if head is None:
        return None
    weight = head.weight.numpy().copy()
    bias = head.bias.numpy().copy() if head.bias is not None else None
    try:
        head.weight.set_value(weight * factor)
        if bias is not None:
            head.bias.set_value(np.zeros_like(bias))
        return _cross_entropy(net, images, labels)
    finally:
        head.weight.set_value(weight)
        if bias is not None:
            head.bias.set_value(bias)


def initial_loss(net, images, labels, class_num) -> dict:
    """Softmax cross-entropy at init against ln C. Above it, the check tells an over-confident
    head apart from a problem below it: with the head's weights scaled 0.1x, a healthy
    network comes back to ln C (Arch.init.head_scale does that for training; on
    configs/lenet.yaml it did not change the final accuracy: BENCHMARKS.md)."""
    loss = _cross_entropy(net, images, labels)
    chance = math.log(class_num)
    ratio = loss / chance
    detail = f"initial cross-entropy {loss:.4f} vs log(C) = {chance:.4f} (ratio {ratio:.2f})"
    if abs(ratio - 1) <= 0.2:
        return verdict("initial loss", "pass", detail)
    if ratio > 1:
        scaled = _head_scaled_loss(net, images, labels)
        if scaled is not None and abs(scaled / chance - 1) <= 0.2:
            return verdict("initial loss", "pass", detail + f"; {scaled:.4f} with the last "
                           "layer's initial weights scaled 0.1x: only the head starts "
                           "over-confident", "optional: Arch.init: {name: default, "
                           "head_scale: 0.1} starts at ln C (the first updates then go to "
                           "learning, not to shrinking the head)")
    status = "warn" if abs(ratio - 1) <= 1.0 else "fail"
    advice = ("the untrained network is already confident: scale the initial weights down "
              "(e.g. Arch.init: {name: xavier}) and check the input scaling (Normalize)"
              if ratio > 1 else "the loss is far below chance before training: check for "
              "labels that leak into the inputs, or a loss that does not match the labels")
    return verdict("initial loss", status, detail, advice)


def symmetry(net) -> dict:
    identical = []
    for name, layer in net.named_sublayers():
        if isinstance(layer, (nn.Linear, nn.Conv2D)):
            w = layer.weight.numpy()
            units = w.reshape(w.shape[0], -1) if isinstance(layer, nn.Conv2D) else w.T
            if units.shape[0] > 1 and np.allclose(units, units[:1], atol=1e-12):
                identical.append(name)
    if identical:
        return verdict("symmetric initialisation", "fail", f"every unit of {', '.join(identical)} "
                       "has the same weights", "identical units get identical gradients and stay "
                       "identical: use a random init (xavier, kaiming), not constant/zeros")
    return verdict("symmetric initialisation", "pass", "every layer's units differ")


def fresh_network(cfg: Config):
    """A newly initialised copy of the config's network (seeded as a run is)."""
    if cfg["Global"]["seed"] is not None:
        paddle.seed(cfg["Global"]["seed"])
    return build_model(cfg["Arch"], seed=cfg["Global"]["seed"])


def probe_model(cfg: Config, lr: float):
    """(a fresh network, a paddle.Model over it) trained by the config's optimizer at a
    constant `lr` with regularisation off (no L1/L2, no AdamW decay): what the probes train."""
    net = fresh_network(cfg)
    section = {**cfg["Optimizer"], "regularizer": None}
    if section["name"] == "AdamW":
        section["weight_decay"] = 0.0
    model = paddle.Model(net)
    model.prepare(build_optimizer(section, net.parameters(), lr), CrossEntropy())
    return net, model


def memorise(cfg: Config, images, labels, lr: float, steps: int) -> tuple[float, int]:
    """(train accuracy, updates used) of a fresh copy of the config's model trained on one
    tiny batch at constant `lr`, regularisation off, stopping at 100%."""
    net, model = probe_model(cfg, lr)
    x = paddle.to_tensor(images)
    acc, used = 0.0, 0
    for used in range(1, steps + 1):
        model.train_batch([images], [labels])
        if used % 10 == 0 or used == steps:
            with paddle.no_grad():
                net.eval()
                acc = float((net(x).numpy().argmax(1) == labels).mean())
                net.train()
            if acc == 1.0:
                break
    return acc, used


PROBE_FACTORS = (0.1, 10.0, 0.01, 100.0, 0.001, 1000.0)   # nearest first


def overfit_tiny(cfg: Config, images, labels, steps: int) -> dict:
    """Memorise the tiny batch at the config's LR; 100% is expected. If it fails, try LRs
    10x, 100x and 1000x lower and higher (nearest first), so the advice can say which way
    the LR is wrong."""
    lr = cfg["Optimizer"]["lr"]["learning_rate"]
    acc, used = memorise(cfg, images, labels, lr, steps)
    detail = f"{acc:.0%} train accuracy on {len(labels)} samples after {used} updates at LR {lr:g}"
    if acc == 1.0:
        return verdict("overfit a tiny subset", "pass", detail)
    status = "fail" if acc < 0.9 else "warn"
    for factor in PROBE_FACTORS:
        probe, probe_used = memorise(cfg, images, labels, lr * factor, steps)
        if probe == 1.0:
            way = "high" if factor < 1 else "low"
            return {**verdict("overfit a tiny subset", status, detail + f"; 100% in "
                              f"{probe_used} updates at LR {lr * factor:g}",
                              f"the LR {lr:g} is too {way}: try about {lr * factor:g} "
                              f"(tools/lr_find.py narrows it down)"),
                    "working_lr": lr * factor}
    return verdict("overfit a tiny subset", status, detail + f"; not at LRs {lr / 1000:g} to "
                   f"{lr * 1000:g} either", "a network that cannot memorise a few samples at "
                   "any LR has a bug (labels, loss, data pipeline) or a broken init (see the "
                   "symmetric-initialisation check)")


def health(net, images, labels) -> dict:
    """One forward/backward: per-layer gradient norms and the fraction of dead ReLU units."""
    dead, hooks = {}, []
    for name, layer in net.named_sublayers():
        if isinstance(layer, nn.ReLU):
            def record(_, __, out, name=name):
                a = out.numpy().reshape(out.shape[0], out.shape[1], -1)
                dead[name] = float((a.max(axis=(0, 2)) <= 0).mean())
            hooks.append(layer.register_forward_post_hook(record))
    net.train()
    loss = CrossEntropy()(net(paddle.to_tensor(images)), paddle.to_tensor(labels))
    loss.backward()
    for hook in hooks:
        hook.remove()
    norms = {n: float(np.linalg.norm(p.grad.numpy())) for n, p in net.named_parameters()
             if p.grad is not None}
    net.clear_gradients()
    vanishing = [n for n, v in norms.items() if v < 1e-7]
    exploding = [n for n, v in norms.items() if v > 1e3]
    mostly_dead = [n for n, v in dead.items() if v > 0.5]
    detail = ("gradient norms " + ", ".join(f"{n} {v:.2e}" for n, v in norms.items())
              + ("; dead ReLU units " + ", ".join(f"{n} {v:.0%}" for n, v in dead.items())
                 if dead else ""))
    if vanishing or exploding or mostly_dead:
        problems = [f"vanishing gradients in {', '.join(vanishing)}" if vanishing else "",
                    f"exploding gradients in {', '.join(exploding)}" if exploding else "",
                    f"over half the units dead after {', '.join(mostly_dead)}"
                    if mostly_dead else ""]
        return verdict("gradient and activation health", "warn", detail,
                       "; ".join(p for p in problems if p) + ": check the init scale, use "
                       "batch norm or a lower LR, or LeakyReLU for dead units")
    return {**verdict("gradient and activation health", "pass", detail),
            "gradient_norms": norms, "dead_relu_fraction": dead}


def held_out_accuracy(cfg: Config, train: tuple, held: tuple, steps: int,
                      lr: float | None = None) -> float:
    """Accuracy on `held` of a fresh copy of the config's model trained `steps` updates on
    `train` (batches of 64 at `lr`, default the config's LR, regularisation off)."""
    net, model = probe_model(cfg, lr or cfg["Optimizer"]["lr"]["learning_rate"])
    images, labels = train
    for step in range(steps):
        at = (step * 64) % len(labels)
        model.train_batch([images[at:at + 64]], [labels[at:at + 64]])
    net.eval()
    with paddle.no_grad():
        return float((net(paddle.to_tensor(held[0])).numpy().argmax(1) == held[1]).mean())


def label_signal(cfg: Config, view, steps: int = 100, count: int = 256, seed: int = 0,
                 lr: float | None = None) -> dict:
    """Zhang et al. (2017)'s control: train briefly on the real labels and on the same
    labels shuffled, and compare accuracy on held-out samples. Labels that match their
    images beat the shuffled control; labels that do not (a permuted list, a misaligned
    file) do no better than it, however well the network memorises them. `lr`: the LR to
    train at (default the config's; `run_checks` passes one the overfit check saw work, so
    an LR too high is not read as labels without signal)."""
    picked = balanced_indices(view.labels, 2 * count, seed)
    images, labels = _batch_of(view, picked)
    train, held = (images[0::2], labels[0::2]), (images[1::2], labels[1::2])
    shuffled = (train[0], np.random.default_rng(seed).permutation(train[1]))
    real, control = (held_out_accuracy(cfg, t, held, steps, lr) for t in (train, shuffled))
    chance = float(np.bincount(held[1]).max() / len(held[1]))
    margin = 3 * np.sqrt(max(chance * (1 - chance), 0.01) / len(held[1]))
    at = f" at LR {lr:g}" if lr else ""
    detail = (f"held-out accuracy {real:.0%} after {steps} updates{at} on {len(train[1])} "
              f"samples, {control:.0%} with their labels shuffled (chance {chance:.0%})")
    if real > max(control, chance) + margin:
        return verdict("labels carry signal", "pass", detail)
    return verdict("labels carry signal", "warn", detail,
                   "the real labels teach the network no more than shuffled ones: check that "
                   "each label matches its image (a permuted or misaligned list, a wrong "
                   "label map); if the overfit check also failed, the LR may be the cause")


def _batch_of(view, indices):
    items = [view.load(int(i)) for i in indices]
    return (np.stack([x for x, _ in items]).astype("float32"),
            np.asarray([y for _, y in items], dtype="int64"))


def run_checks(cfg: Config, subset: int = 50, steps: int = 300) -> list[dict]:
    """All five checks on the config's model and training data."""
    built = build(cfg, train=True)
    seed = cfg["Global"]["seed"] or 0
    images, labels = _batch(built.data.train, subset, seed)
    class_num = cfg["Arch"]["class_num"]
    check_head(built.net, images, class_num)
    overfit = overfit_tiny(cfg, images, labels, steps)
    learns = overfit["verdict"] == "pass" or "working_lr" in overfit
    signal = (label_signal(cfg, built.data.train, seed=seed, lr=overfit.get("working_lr"))
              if learns else verdict("labels carry signal", "skip", "not run: the network "
                                     "memorised a tiny batch at no LR, so no labels could "
                                     "show a signal", "fix what the overfit check names first"))
    return [initial_loss(built.net, images, labels, class_num), symmetry(built.net), overfit,
            health(built.net, images, labels), signal]
