"""Which network a run's weights were trained as.

Networks built from different `Arch` options can share every tensor name and shape and still
compute different functions: LeNet with and without `head_activation`, an MLP with another
activation. Loading weights by name cannot tell them apart; the config.yaml of the run
directory the weights came from can. `arch_differences` compares the two `Arch` sections,
each resolved with the constructor's defaults, leaving out what does not shape the network
(`class_num` is checked by the tensor shapes; `pretrained`, `finetune` and `init` only say
how the weights were obtained; `dropout` does nothing outside training; `sync_bn` has the
same parameters).
"""
from __future__ import annotations

from pathlib import Path

from ..core.schema import check_named
from ..errors import UserError
from ..runs.rundir import run_config

NOT_THE_NETWORK = ("class_num", "pretrained", "finetune", "init", "dropout", "sync_bn")


def _network_options(section: dict, registry: dict) -> dict:
    options = {k: v for k, v in section.items() if k not in NOT_THE_NETWORK}
    return check_named(registry, options, "Arch", "model")[1]


def trained_arch(weights: Path, registry: dict) -> tuple[Path, dict] | None:
    """(run directory, its resolved network options) for a weights file in
    `<run>/checkpoints/`; None when the file is not in a run directory or its config.yaml
    cannot be read (then there is nothing to compare)."""
    run = weights.parent.parent
    section = run_config(run).get("Arch") if weights.parent.name == "checkpoints" else None
    if not isinstance(section, dict):
        return None
    try:
        return run, _network_options(section, registry)
    except UserError:  # written by another version of the suite: nothing to compare
        return None


def arch_differences(weights: Path, arch: dict, registry: dict) -> tuple[Path, list[str]]:
    """(run directory, ["Arch.key: X in the run, Y here", ...]) between the run that wrote
    `weights` and `arch`; an empty list when they build the same network or nothing is known."""
    found = trained_arch(Path(weights), registry)
    if found is None:
        return Path(weights).parent, []
    run, theirs = found
    ours = _network_options(arch, registry)
    return run, [f"Arch.{key}: {theirs.get(key)!r} in the run, {ours.get(key)!r} here"
                 for key in sorted(set(theirs) | set(ours)) if theirs.get(key) != ours.get(key)]


def require_same_network(weights: Path, arch: dict, registry: dict) -> None:
    """Raise UserError when `weights` come from a run whose network differs from `arch`'s."""
    run, differences = arch_differences(weights, arch, registry)
    if differences:
        raise UserError(
            f"{weights}: these weights were trained in {run} as a different network "
            f"({'; '.join(differences)}). The tensor names and shapes match, so they would "
            "load, but the network would compute another function. Give the same options "
            f"(e.g. -o {differences[0].split(':')[0]}=...) or use {run / 'config.yaml'}.")
