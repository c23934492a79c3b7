"""Which device a run uses (`Global.device`) and what each device allows: kept apart from
the engine, so the launcher's checks read them without building anything."""
from __future__ import annotations

from ..errors import OptionError
from .distributed import visible_gpus


def check_device(name: str, gpus: int) -> None:
    """`Global.device: gpu` needs a GPU: a clear error instead of a silent CPU run."""
    if name == "gpu" and gpus == 0:
        raise OptionError("Global.device: gpu was asked for, but this paddle build sees no GPU "
                          "(CPU wheel or no CUDA device). Use device: cpu or auto, or install "
                          "paddlepaddle-gpu (see README).")


def select_device(name: str) -> str:
    """Set paddle's device from `Global.device` (auto | cpu | gpu); return what was chosen."""
    gpus = visible_gpus()
    check_device(name, gpus)
    has_gpu = gpus > 0
    device = "gpu" if name == "gpu" or (name == "auto" and has_gpu) else "cpu"
    import paddle
    paddle.set_device(device)
    return device


def sync_batch_norm(net, device: str):
    """`Arch.sync_bn: true`: every BatchNorm as `paddle.nn.SyncBatchNorm` (statistics over
    the whole global batch, every step). GPU only: paddle's CPU build has no
    `sync_batch_norm` kernel (tests/unit/test_distributed.py shows it)."""
    if device != "gpu":
        raise OptionError("Arch.sync_bn: SyncBatchNorm needs a GPU; this paddle has no "
                          "sync_batch_norm kernel for the CPU. On CPU, data-parallel runs "
                          "average BatchNorm's running statistics over the processes after "
                          "every epoch instead (replicas stay identical); set "
                          "Arch.sync_bn: false.")
    import paddle
    return paddle.nn.SyncBatchNorm.convert_sync_batchnorm(net)
