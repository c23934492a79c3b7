"""Mixed-precision training (the `AMP` section, in PaddleClas's spelling) for GPU runs.

    AMP:
      use_amp: true
      dtype: float16                  # or bfloat16 (compute capability 8.0 and newer)
      level: O1                       # autocast per op; the weights stay float32
      scale_loss: 65536.0             # initial loss scale (float16)
      use_dynamic_loss_scaling: true  # halve the scale on overflow, grow it when stable

How it runs: the network's forward runs under `paddle.amp.auto_cast(level, dtype)` in
training (its outputs cast back to float32, so the loss is computed in float32); evaluation,
checkpoints and the export stay float32. Float16 gradients go through a
`paddle.amp.GradScaler` (hapi's `prepare(amp_configs=...)` owns it; the suite creates it
before training so its state is in the resume checkpoint); a step whose gradients overflowed
is skipped by the scaler, not counted as an update, and the NaN guard stops the run only when
the loss itself is not finite or the scale has fallen below `MIN_LOSS_SCALE` (fairseq's
rule: the gradients overflow even unscaled).

Paddle 3.3.1 runs autocast on CUDA, XPU and custom devices only: on a CPU both
`auto_cast` and `GradScaler` switch themselves off with a warning, so the suite refuses
`use_amp` on a CPU whatever paddle's capability probes say (a CPU with bfloat16
instructions makes `paddle.amp.is_bfloat16_supported()` True), and on an accelerator where
the probe is False, instead of training float32 while the config says otherwise.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import paddle

from ..errors import OptionError

MIN_LOSS_SCALE = 1e-4  # below this, gradients overflow even without scaling: divergence


@dataclass
class AMPOptions:
    """Keys of the `AMP` section (PaddleClas's names, plus `dtype`)."""

    use_amp: bool = False
    dtype: Literal["float16", "bfloat16"] = "float16"
    level: Literal["O1", "O2"] = "O1"
    scale_loss: float = 65536.0            # the initial loss scale (paddle's default 2**16)
    use_dynamic_loss_scaling: bool = True
    use_promote: bool = True               # an op with a float32 input runs in float32
    use_fp16_test: bool = False            # PaddleClas: evaluate under autocast too


def check_amp(section: dict) -> dict:
    """The resolved `AMP` section's combinations the suite can run (types are checked by the
    schema)."""
    if not section["use_amp"]:
        return section
    if section["level"] == "O2":
        raise OptionError("AMP.level: O2 (the weights themselves in half precision) is not "
                          "supported: the suite's evaluation, checkpoints, weight averaging "
                          "and export read float32 weights. Use O1 (per-op autocast, float32 "
                          "weights).")
    if section["use_fp16_test"]:
        raise OptionError("AMP.use_fp16_test: evaluation runs in float32 (the numbers the "
                          "export will give); set it to false.")
    if not section["scale_loss"] > 0:
        raise OptionError(f"AMP.scale_loss: must be a positive loss scale, got "
                          f"{section['scale_loss']}.")
    return section


def amp_device_problem(dtype: str, device: str, probe_says_supported: bool) -> str | None:
    """Why `dtype` mixed precision cannot run on `device` (None: it can).

    A CPU is refused whatever paddle's capability probe answers: on a CPU that reports
    `avx512_bf16`, `paddle.amp.is_bfloat16_supported()` is True, yet `auto_cast` still
    switches itself off there ("amp_guard can only be enabled on CUDAPlace...") and the run
    would train in float32 under an AMP config. The probe is consulted for accelerators only.
    """
    need = ("an NVIDIA GPU with compute capability 8.0 or newer and CUDA 11+"
            if dtype == "bfloat16" else "an NVIDIA GPU with compute capability 7.0 or newer")
    if device == "cpu":
        where = ("this run is on the CPU, where paddle's autocast and loss scaler switch "
                 "themselves off (paddle runs mixed precision on CUDA, XPU and custom devices "
                 "only, whatever the CPU's own bfloat16 instructions)")
    elif not probe_says_supported:
        where = f"this {device} does not support {dtype}"
    else:
        return None
    return (f"AMP.use_amp: {dtype} mixed precision needs {need} and the paddlepaddle-gpu "
            f"build; {where}. Set AMP.use_amp: false to train in float32"
            f"{', or use dtype: float16' if dtype == 'bfloat16' else ''}.")


def require_amp_device(section: dict, device: str) -> None:
    """Refuse `use_amp` where paddle would silently train in float32 instead."""
    if not section["use_amp"]:
        return
    dtype = section["dtype"]
    supported = device != "cpu" and (paddle.amp.is_bfloat16_supported() if dtype == "bfloat16"
                                      else paddle.amp.is_float16_supported())
    problem = amp_device_problem(dtype, device, supported)
    if problem:
        raise OptionError(problem)


def autocast_forward(net: paddle.nn.Layer, section: dict) -> None:
    """Run `net`'s forward under autocast while it trains; its outputs come back float32.
    Evaluation (`net.eval()`) and export run the plain float32 forward. Parameter names and
    the state dict are unchanged (the forward is replaced on the instance)."""
    plain = net.forward

    @functools.wraps(plain)
    def forward(*args, **kwargs):
        if not net.training:
            return plain(*args, **kwargs)
        with paddle.amp.auto_cast(level=section["level"], dtype=section["dtype"],
                                  use_promote=section["use_promote"]):
            out = plain(*args, **kwargs)
        return _float32(out)

    net.forward = forward


def _float32(out):
    """A network's output (a tensor, or a list/tuple of them) in float32."""
    if isinstance(out, (list, tuple)):
        return type(out)(_float32(o) for o in out)
    return out.astype("float32") if out.dtype != paddle.float32 else out


def hapi_amp_configs(section: dict) -> dict | None:
    """`paddle.Model.prepare(amp_configs=...)`: hapi's loss scaling (bfloat16 has float32's
    range and needs none: a fixed scale of 1 only skips steps with non-finite gradients)."""
    if not section["use_amp"]:
        return None
    if section["dtype"] == "bfloat16":
        return {"level": section["level"], "init_loss_scaling": 1.0,
                "use_dynamic_loss_scaling": False}
    return {"level": section["level"], "init_loss_scaling": section["scale_loss"],
            "use_dynamic_loss_scaling": section["use_dynamic_loss_scaling"]}


def attach_loss_scaler(model: paddle.Model, configs: dict | None):
    """Create the GradScaler hapi would create at the first batch, now, so the resume
    checkpoint can save and restore it; None when AMP is off."""
    if configs is None:
        return None
    options = {k: v for k, v in configs.items() if k != "level"}
    model._scaler = paddle.amp.GradScaler(**options)  # hapi uses it when not None
    return model._scaler


def loss_scale(scaler) -> float | None:
    """The scaler's current loss scale (None without an enabled scaler)."""
    if scaler is None or not scaler.is_enable():
        return None
    return float(scaler.state_dict()["scale"].reshape(-1)[0])


def step_skipped(scaler) -> bool:
    """Did the scaler skip the last update (non-finite gradients)? Paddle 3.3.1 keeps this
    in the private `_cache_found_inf` that `minimize` sets."""
    return bool(scaler is not None and scaler.is_enable()
                and getattr(scaler, "_cache_found_inf", False))
