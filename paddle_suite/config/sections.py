"""The parts of a validated config each library receives: a library never reads the whole
config, the config layer hands it what it uses."""
from __future__ import annotations

from ..data import DataSpec


def data_spec(cfg: dict) -> DataSpec:
    """The data layer's part of a validated config (DataLoader, the class count and input
    channels of Arch, Global.seed)."""
    arch = cfg["Arch"]
    return DataSpec(cfg["DataLoader"], arch["class_num"], arch.get("in_channels", 1),
                    cfg["Global"]["seed"])
