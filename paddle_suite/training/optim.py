"""Optimizers, learning-rate schedules (with linear warm-up), regularizers and gradient clipping.

Every schedule states its clock: `step_on: epoch` steps once per epoch, `step_on: step` once
per optimizer update. Durations (`step_size`, `milestones`, `T_0`, `warmup_epoch`, cycle
lengths) are always given in epochs; with `step_on: step` they are converted to updates, so
switching the clock changes the granularity of a schedule, not its shape.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Literal

import paddle
from paddle.optimizer import lr as L

from ..errors import OptionError


@dataclass
class Clock:
    """How many schedule ticks make an epoch, and how long training lasts."""

    epochs: int
    steps_per_epoch: int | None  # None: not known yet (validation before the data is read)
    step_on: str = "epoch"

    @property
    def per_epoch(self) -> int:
        if self.step_on != "step":
            return 1
        return self.steps_per_epoch or 1000  # a stand-in count while it is unknown

    def ticks(self, epochs: float, what: str) -> int:
        """Convert a duration in epochs to whole ticks of this clock (checked to be whole
        once the real number of updates per epoch is known)."""
        ticks = epochs * self.per_epoch
        if self.step_on == "step" and self.steps_per_epoch is None:
            return max(1, int(round(ticks)))
        if abs(ticks - round(ticks)) > 1e-9:
            hint = ("use step_on: step for fractional epochs" if self.step_on == "epoch" else
                    f"with {self.steps_per_epoch} updates per epoch it is {ticks:g} updates; "
                    "give a multiple of 1 / that count")
            raise OptionError(f"Optimizer.lr.{what}: {epochs} epochs is not a whole number of "
                              f"{self.step_on}s; {hint}.")
        return int(round(ticks))


# --- schedules: (lr, clock, epochs_left, **options) -> float | LRScheduler -------------------

def constant(lr, clock, epochs):
    """The same LR throughout."""
    return lr


def _decay_factor(gamma: float) -> None:
    if not 0 < gamma < 1:
        raise OptionError(f"Optimizer.lr.gamma: must be in (0, 1), got {gamma}.")


def step(lr, clock, epochs, step_size: float = 10, gamma: float = 0.1):
    """Multiply the LR by `gamma` every `step_size` epochs."""
    _decay_factor(gamma)
    return L.StepDecay(lr, step_size=clock.ticks(step_size, "step_size"), gamma=gamma)


def multistep(lr, clock, epochs, milestones: list[float] = (30, 60, 90), gamma: float = 0.1):
    """Caffe `multistep`: multiply by `gamma` at each milestone epoch."""
    _decay_factor(gamma)
    return L.MultiStepDecay(lr, [clock.ticks(m, "milestones") for m in milestones], gamma=gamma)


def exponential(lr, clock, epochs, gamma: float = 0.9):
    """Multiply the LR by `gamma` every epoch (smoothly per update with step_on: step)."""
    return L.ExponentialDecay(lr, gamma=gamma ** (1.0 / clock.per_epoch))


def polynomial(lr, clock, epochs, power: float = 1.0, end_lr: float = 0.0):
    """Decay from lr to `end_lr` over training as (1 - t/T)^power."""
    return L.PolynomialDecay(lr, decay_steps=clock.ticks(epochs, "epochs"), end_lr=end_lr,
                             power=power)


def linear(lr, clock, epochs, start_factor: float = 1.0, end_factor: float = 0.0):
    """Linear ramp of the LR from lr*start_factor to lr*end_factor over training."""
    return L.LinearLR(lr, total_steps=clock.ticks(epochs, "epochs"), start_factor=start_factor,
                      end_factor=end_factor)


def cosine(lr, clock, epochs, eta_min: float = 0.0):
    """Half-cosine from lr down to `eta_min` over training."""
    return L.CosineAnnealingDecay(lr, T_max=clock.ticks(epochs, "epochs"), eta_min=eta_min)


def cosine_restarts(lr, clock, epochs, T_0: float = 10, T_mult: int = 1, eta_min: float = 0.0):
    """SGDR: cosine cycles of `T_0` epochs, each `T_mult` times longer than the last."""
    return L.CosineAnnealingWarmRestarts(lr, T_0=clock.ticks(T_0, "T_0"), T_mult=T_mult,
                                         eta_min=eta_min)


def cyclic(lr, clock, epochs, max_learning_rate: float = 0.01, step_size_up: float = 2,
           step_size_down: float | None = None,
           mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
           exp_gamma: float = 1.0):
    """Smith's cyclical LR between lr and `max_learning_rate`; half-cycles in epochs."""
    down = None if step_size_down is None else clock.ticks(step_size_down, "step_size_down")
    return L.CyclicLR(lr, max_learning_rate, step_size_up=clock.ticks(step_size_up, "step_size_up"),
                      step_size_down=down, mode=mode, exp_gamma=exp_gamma)


def one_cycle(lr, clock, epochs, divide_factor: float = 25.0, end_learning_rate: float = 1e-4,
              phase_pct: float = 0.3, anneal_strategy: Literal["cos", "linear"] = "cos"):
    """One-cycle policy peaking at lr: up from lr/divide_factor, then down to end_learning_rate."""
    return L.OneCycleLR(lr, total_steps=clock.ticks(epochs, "epochs"), divide_factor=divide_factor,
                        end_learning_rate=end_learning_rate, phase_pct=phase_pct,
                        anneal_strategy=anneal_strategy)


SCHEDULES = {
    "Constant": constant, "Step": step, "MultiStep": multistep, "Exponential": exponential,
    "Polynomial": polynomial, "Linear": linear, "Cosine": cosine,
    "CosineWarmRestarts": cosine_restarts, "Cyclic": cyclic, "OneCycle": one_cycle,
}
SCHEDULE_SKIP = ("lr", "clock", "epochs")


def lr_common(learning_rate: float = 0.001, warmup_epoch: float = 0, warmup_start_lr: float = 0.0,
              step_on: Literal["epoch", "step"] = "epoch", base_batch_size: int | None = None,
              scale_rule: Literal["linear", "sqrt"] = "linear", replan: bool = False,
              unit: Literal["epoch", "update"] = "epoch"):
    """Keys every `Optimizer.lr` section accepts besides `name` and the schedule's own.

    `unit`: the unit of the schedule's durations (`step_size`, `milestones`, `T_0`,
    `step_size_up/down`, `warmup_epoch`): epochs (default) or optimizer updates (Caffe's
    `stepvalue` in iterations; needs `step_on: step`).

    `replan` (when resuming with more epochs): build the schedule afresh over the remaining
    epochs instead of continuing the one planned for the original length (lifecycle/replan.py).

    `base_batch_size` (off by default) turns on LR scaling: `learning_rate` is the LR tuned
    for that many samples per update, and the run uses learning_rate x (its global batch /
    base_batch_size) (`scale_rule: linear`, Goyal et al. 2017) or the square root of that
    ratio (`sqrt`). The global batch is the per-device batch x processes x accumulate_steps.
    Only `learning_rate` is scaled (warm-up still starts from `warmup_start_lr`)."""


LR_COMMON_KEYS = tuple(inspect.signature(lr_common).parameters)


DURATIONS = ("step_size", "milestones", "T_0", "step_size_up", "step_size_down")


def _in_epochs(value, per_epoch: int):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [v / per_epoch for v in value]
    return value / per_epoch


def build_schedule(section: dict, epochs: float, steps_per_epoch: int | None):
    """Return (LR float or LRScheduler, Clock) for a validated `Optimizer.lr` section.

    `epochs` is the training length the schedule spans (fractional with Global.max_updates).
    Durations given in updates (`unit: update`) are turned into (fractional) epochs here, so
    every schedule is built one way and lands on whole updates."""
    if section.get("unit") == "update" and section["step_on"] != "step":
        raise OptionError("Optimizer.lr.unit: update (durations in updates) needs "
                          "Optimizer.lr.step_on: step.")
    clock = Clock(epochs, steps_per_epoch, section["step_on"])
    common = ("name", *LR_COMMON_KEYS)
    options = {k: v for k, v in section.items() if k not in common}
    lr0, warm = section["learning_rate"], section["warmup_epoch"]
    if section.get("unit") == "update":
        options = {k: _in_epochs(v, clock.per_epoch) if k in DURATIONS else v
                   for k, v in options.items()}
        warm = warm / clock.per_epoch
    try:
        inner = SCHEDULES[section["name"]](lr0, clock, epochs - warm, **options)
    except (ValueError, TypeError, AssertionError) as exc:  # paddle's own argument checks
        raise OptionError(f"Optimizer.lr: the {section['name']} schedule rejects these "
                          f"options: {exc}") from None
    if warm > 0:
        inner = L.LinearWarmup(inner, warmup_steps=clock.ticks(warm, "warmup_epoch"),
                               start_lr=section["warmup_start_lr"], end_lr=lr0)
    return inner, clock


# --- optimizers: (common kwargs, **options) -> paddle.optimizer.Optimizer ---------------------

def sgd(common):
    """Plain stochastic gradient descent."""
    return paddle.optimizer.SGD(**common)


def momentum(common, momentum: float = 0.9, nesterov: bool = False):
    """SGD with (optionally Nesterov) momentum."""
    return paddle.optimizer.Momentum(momentum=momentum, use_nesterov=nesterov, **common)


def adagrad(common, epsilon: float = 1e-6, initial_accumulator_value: float = 0.0):
    """Adagrad: per-parameter LR scaled by the root of the summed squared gradients."""
    return paddle.optimizer.Adagrad(epsilon=epsilon,
                                    initial_accumulator_value=initial_accumulator_value, **common)


def rmsprop(common, rho: float = 0.95, epsilon: float = 1e-6, momentum: float = 0.0,
            centered: bool = False):
    """RMSProp: LR scaled by a moving average of squared gradients."""
    return paddle.optimizer.RMSProp(rho=rho, epsilon=epsilon, momentum=momentum,
                                    centered=centered, **common)


def adadelta(common, rho: float = 0.95, epsilon: float = 1e-6):
    """Adadelta (use learning_rate 1.0 for the original, LR-free formulation)."""
    return paddle.optimizer.Adadelta(rho=rho, epsilon=epsilon, **common)


def adam(common, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8):
    """Adam."""
    return paddle.optimizer.Adam(beta1=beta1, beta2=beta2, epsilon=epsilon, **common)


def adamw(common, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
          weight_decay: float = 0.01):
    """AdamW: Adam with decoupled weight decay (set here, not through `regularizer`)."""
    common = {**common, "weight_decay": weight_decay}
    return paddle.optimizer.AdamW(beta1=beta1, beta2=beta2, epsilon=epsilon, **common)


OPTIMIZERS = {"SGD": sgd, "Momentum": momentum, "Adagrad": adagrad, "RMSProp": rmsprop,
              "Adadelta": adadelta, "Adam": adam, "AdamW": adamw}


def l1(coeff: float = 1e-4):
    """L1 penalty coeff * sum|w| added to the gradient (drives weights to exactly zero)."""
    return paddle.regularizer.L1Decay(coeff)


def l2(coeff: float = 1e-4):
    """L2 penalty (weight decay) coeff * sum w^2 / 2 added to the gradient."""
    return paddle.regularizer.L2Decay(coeff)


REGULARIZERS = {"L1": l1, "L2": l2}


def global_norm(value: float = 1.0):
    """Rescale all gradients together so their global L2 norm is at most `value`."""
    return paddle.nn.ClipGradByGlobalNorm(value)


def norm(value: float = 1.0):
    """Rescale each parameter's gradient so its L2 norm is at most `value`."""
    return paddle.nn.ClipGradByNorm(value)


def by_value(value: float = 1.0):
    """Clip every gradient element to [-value, value]."""
    return paddle.nn.ClipGradByValue(max=value, min=-value)


CLIPS = {"global_norm": global_norm, "norm": norm, "value": by_value}


def build_optimizer(section: dict, parameters, learning_rate):
    """Build the optimizer of a validated `Optimizer` section around `learning_rate`."""
    reg = section.get("regularizer")
    clip = section.get("grad_clip")
    common = {
        "learning_rate": learning_rate,
        "parameters": parameters,
        "grad_clip": CLIPS[clip["name"]](clip["value"]) if clip else None,
    }
    if section["name"] != "AdamW":
        common["weight_decay"] = REGULARIZERS[reg["name"]](reg["coeff"]) if reg else None
    skip = ("name", "lr", "regularizer", "grad_clip", "accumulate_steps")
    options = {k: v for k, v in section.items() if k not in skip}
    return OPTIMIZERS[section["name"]](common, **options)


def scaled_learning_rate(lr: float, batch: int, base_batch: int | None,
                         rule: str = "linear") -> float:
    """The LR for `batch` samples per update from the one tuned at `base_batch`: the linear
    rule (Goyal et al., 2017) or the square-root rule; unchanged when `base_batch` is None."""
    if base_batch is None:
        return lr
    ratio = batch / base_batch
    return lr * (ratio if rule == "linear" else ratio ** 0.5)


def current_lr(learning_rate) -> float:
    """The LR a float-or-scheduler gives right now (what the next update uses)."""
    return float(learning_rate() if callable(learning_rate) else learning_rate)


def steps_per_epoch(num_samples: int, batch_size: int, drop_last: bool) -> int:
    """Batches per epoch for a loader of this size."""
    return num_samples // batch_size if drop_last else math.ceil(num_samples / batch_size)


_PLAIN = (int, float, bool, str, type(None))


def schedule_state(schedule: L.LRScheduler) -> dict:
    """Every plain attribute of a schedule (numbers, strings, lists of them), and nested
    schedules by attribute name: enough to continue it exactly."""
    state = {}
    for key, value in vars(schedule).items():
        if isinstance(value, L.LRScheduler):
            state[key] = {"schedule": schedule_state(value)}
        elif isinstance(value, _PLAIN) or (isinstance(value, (list, tuple))
                                           and all(isinstance(v, _PLAIN) for v in value)):
            state[key] = list(value) if isinstance(value, tuple) else value
    return state


def set_schedule_state(schedule: L.LRScheduler, state: dict) -> None:
    """Restore what `schedule_state` captured (attributes the schedule does not have are
    ignored; a nested schedule is restored in place)."""
    for key, value in state.items():
        current = getattr(schedule, key, None)
        if isinstance(current, L.LRScheduler) and isinstance(value, dict):
            set_schedule_state(current, value["schedule"])
        elif hasattr(schedule, key) and not callable(current):
            setattr(schedule, key, tuple(value) if isinstance(current, tuple) else value)


class ScaledLR(L.LRScheduler):
    """A float LR or a schedule, multiplied by an adjustable `scale` (1.0 to start).

    Callbacks that change the LR mid-training (plateau decay) set the scale; the wrapped
    schedule keeps its own shape, warm-up included. `step()` steps the wrapped schedule.
    """

    def __init__(self, base, scale: float = 1.0):
        self.base, self.scale = base, scale
        super().__init__(learning_rate=current_lr(base))

    def get_lr(self):
        return current_lr(self.base) * self.scale

    def step(self, epoch=None):
        if self.last_epoch >= 0 and isinstance(self.base, L.LRScheduler):
            self.base.step()
        super().step(epoch)

    def set_scale(self, scale: float) -> None:
        """Change the multiplier; the very next update uses the new LR."""
        self.scale = scale
        self.last_lr = self.get_lr()

    def state_dict(self):
        """The scale and the wrapped schedule's whole position. Paddle's own
        `LRScheduler.state_dict` keeps only `last_epoch`/`last_lr`, which loses the cycle
        of `CosineAnnealingWarmRestarts` (`T_cur`, `T_i`); every plain attribute is kept
        instead, nested schedules (a warm-up's inner one) included."""
        base = schedule_state(self.base) if isinstance(self.base, L.LRScheduler) else None
        return {"last_epoch": self.last_epoch, "last_lr": self.last_lr, "scale": self.scale,
                "base_vars": base}

    def set_state_dict(self, state_dict):
        self.last_epoch, self.scale = state_dict["last_epoch"], state_dict["scale"]
        if state_dict.get("base_vars") is not None:
            set_schedule_state(self.base, state_dict["base_vars"])
        elif state_dict.get("base") is not None:  # checkpoints written before base_vars
            self.base.set_state_dict(state_dict["base"])
        self.last_lr = self.get_lr()

    set_dict = set_state_dict
