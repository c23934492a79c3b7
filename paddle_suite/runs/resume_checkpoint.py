"""Resume checkpoints: everything needed to continue a run exactly where it stopped.

After every epoch the suite writes `<run>/checkpoints/resume/epoch-NNNN/`, and mid-epoch
(`Global.save_steps`, `save_minutes`, a preemption signal) `epoch-NNNN-step-BBBBBB/` after
NNNN epochs and BBBBBB batches of the next:

    network.pdparams   the weights
    optimizer.pdopt    the optimizer state, including the LR schedule's position
    state.pkl          epoch, every stateful callback's state, the random states of Python,
                       numpy and paddle (plain data: numbers, lists, dicts, small arrays);
                       mid-epoch, also each process's position in the epoch
                       (callbacks/resume_writer.py)
    <callback>.<key>.pdparams
                       each set of weights a callback keeps (a `WeightSet`: EMA's shadow,
                       early stopping's best weights, SWA's running mean); state.pkl names
                       the file. Through the run's checkpoint store, a set equal to a file
                       the run already has (the best weights are `best.pdparams`) is a link.
    manifest.json      size and SHA-256 of each file above, written last

The directory is assembled under a temporary name, every file fsynced, then renamed into
place, so a crash leaves either a complete checkpoint or an ignorable `.tmp` directory. The
two newest checkpoints are kept. Loading verifies the manifest and falls back to the older
checkpoint, saying why, when the newest is damaged. All files are read with the restricted
unpickler: loading a checkpoint never runs code from it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from .checkpoint import (
    _fsync_dir,
    link_or_copy,
    load_pickle,
    load_weights,
    make_temp_dir,
    named,
    paddle_bytes,
    weights_bytes,
)

log = logging.getLogger("paddle_suite")
FILES = ("network.pdparams", "optimizer.pdopt", "state.pkl")
KEEP = 2
WEIGHTS_REF = "weights_file"
_WEIGHT_FILE = re.compile(r"^\w+\.\w+\.pdparams$")


class WeightSet(dict):
    """{name: array}: weights a callback keeps besides the network's own. Returned in a
    callback's `state_dict`, a resume checkpoint stores it as a weights file of its own
    instead of pickling it into state.pkl, and `Resume.load` gives it back as a dict."""


def split_weight_sets(callbacks: dict) -> tuple[dict, dict]:
    """(callback states with each WeightSet replaced by {"weights_file": name},
    {file name: WeightSet})."""
    states, files = {}, {}
    for owner, state in callbacks.items():
        if not isinstance(state, dict):
            states[owner] = state
            continue
        states[owner] = dict(state)
        for key, value in state.items():
            if isinstance(value, WeightSet) and not value:
                states[owner][key] = {}  # nothing to write (paddle.save writes no bytes)
            elif isinstance(value, WeightSet):
                name = f"{owner}.{key}.pdparams"
                files[name] = value
                states[owner][key] = {WEIGHTS_REF: name}
    return states, files


class CheckpointError(UserError):
    """No usable resume checkpoint."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write(path: Path, data: bytes) -> None:
    with named(path), open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _rename_keys(state: dict, mapping: dict) -> dict:
    """Rename optimizer-state keys '<param>_<accumulator>' by the parameter part."""
    out = {}
    for key, value in state.items():
        match = max((p for p in mapping if key.startswith(p + "_")), key=len, default=None)
        out[mapping[match] + key[len(match):] if match else key] = value
    return out


def portable_optimizer_state(state: dict, network) -> dict:
    """Key the optimizer state by structured parameter names ('features.0.weight'), not by
    paddle's process-wide generated names ('conv2d_3.w_0'), which differ between processes."""
    return _rename_keys(state, {p.name: n for n, p in network.named_parameters()})


def optimizer_state_problems(state: dict, network) -> list[str]:
    """Entries of a portable optimizer state that belong to no parameter of `network`, or
    whose shape is neither the parameter's (moments, velocities) nor [1] (step powers)."""
    shapes = {n: list(p.shape) for n, p in network.named_parameters()}
    problems = []
    for key, value in state.items():
        if not isinstance(value, np.ndarray):
            continue  # the LR schedule's state and other plain values
        owner = max((n for n in shapes if key.startswith(n + "_")), key=len, default=None)
        if owner is None:
            problems.append(f"{key} belongs to no parameter of the network")
        elif list(value.shape) not in (shapes[owner], [1]):
            problems.append(f"{key} has shape {list(value.shape)}, {owner} is {shapes[owner]}")
    return problems


def local_optimizer_state(state: dict, network) -> dict:
    """The inverse of `portable_optimizer_state` for this process's parameters."""
    return _rename_keys(state, {n: p.name for n, p in network.named_parameters()})


def checkpoint_name(epoch: int, batches: int = 0) -> str:
    """`epoch-NNNN` after `epoch` whole epochs, `epoch-NNNN-step-BBBBBB` after `batches`
    more of the next: names sort in training order."""
    return f"epoch-{epoch:04d}" + (f"-step-{batches:06d}" if batches else "")


def save_resume(directory: Path, epoch: int, network, optimizer, state: dict,
                store=None, batches: int = 0) -> Path:
    """Write a complete resume checkpoint after `epoch` epochs and `batches` batches of the
    next, atomically; prune old ones. With a `CheckpointStore`, weights another file of the
    run already holds (`best.pdparams` of this epoch) are linked, not written again."""
    directory.mkdir(parents=True, exist_ok=True)
    for stray in directory.glob(".epoch-*.tmp"):  # left by a crash while saving
        shutil.rmtree(stray, ignore_errors=True)
    final = directory / checkpoint_name(epoch, batches)
    tmp = make_temp_dir(directory, f".{final.name}.")
    try:
        callbacks, weight_sets = split_weight_sets(state.get("callbacks", {}))
        files = {"network.pdparams": weights_bytes(network.state_dict()),
                 **{name: weights_bytes(weights) for name, weights in weight_sets.items()}}
        for name, data in files.items():
            if store is None:
                _write(tmp / name, data)
            else:
                store.put(tmp / name, data)
        _write(tmp / "optimizer.pdopt",
               paddle_bytes(portable_optimizer_state(optimizer.state_dict(), network)))
        _write(tmp / "state.pkl", pickle.dumps(
            {"epoch": epoch, "step": batches, **state, "callbacks": callbacks}, protocol=4))
        manifest = {"format": 1, "epoch": epoch, "step": batches,
                    "files": {n: {"bytes": (tmp / n).stat().st_size, "sha256": _sha256(tmp / n)}
                              for n in (*FILES, *weight_sets)}}
        _write(tmp / "manifest.json", json.dumps(manifest, indent=1).encode())
        _fsync_dir(tmp)
        if final.is_dir() and not final.is_symlink():  # the epoch trained again
            shutil.rmtree(final)
        elif final.exists() or final.is_symlink():  # a file or link in its place
            final.unlink()
        os.replace(tmp, final)
        _fsync_dir(directory)
        if store is not None:
            for name in files:
                store.remember(final / name, manifest["files"][name]["sha256"])
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in sorted(directory.glob("epoch-*"))[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


LAST_LINKS = {"network.pdparams": "last.pdparams", "optimizer.pdopt": "last.pdopt"}


def link_last(checkpoint: Path, directory: Path) -> None:
    """Point `directory/last.pdparams` and `last.pdopt` at a resume checkpoint's weights and
    optimizer state by hard links (as timm keeps `last.pth.tar`): one write per epoch, not
    two. Each link is made under a temporary name and renamed over the old one, so a crash
    leaves the previous `last.*`; where hard links are not possible the file is copied."""
    for source, name in LAST_LINKS.items():
        link_or_copy(checkpoint / source, directory / name)


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_manifest(path: Path) -> dict:
    """The checkpoint's manifest.json, checked for shape; ValueError when it is not one."""
    manifest = json.loads((path / "manifest.json").read_bytes().decode("utf-8"))
    files = manifest.get("files") if isinstance(manifest, dict) else None
    epoch = manifest.get("epoch") if isinstance(manifest, dict) else None
    step = manifest.get("step", 0) if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not _count(epoch) or not _count(step) \
            or epoch + step < 1:
        raise ValueError("not a checkpoint manifest (needs 'epoch' and 'files')")
    for name in (*FILES, *files):
        entry = files.get(name)
        if not (isinstance(entry, dict) and isinstance(entry.get("bytes"), int)
                and isinstance(entry.get("sha256"), str)):
            raise ValueError(f"no valid entry for {name}")
        if name not in FILES and not (isinstance(name, str) and _WEIGHT_FILE.match(name)):
            raise ValueError(f"{str(name)[:80]!r} is not a checkpoint file name")
    return manifest


def verify(path: Path) -> str | None:
    """None when the checkpoint at `path` is complete and intact, else what is wrong."""
    try:
        manifest = read_manifest(path)
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError included
        return f"manifest.json unreadable ({type(exc).__name__}: {exc})"
    if path.name != checkpoint_name(manifest["epoch"], manifest.get("step", 0)):
        return f"its manifest claims epoch {manifest['epoch']}, its folder says otherwise"
    for name in manifest["files"]:
        expected = manifest["files"][name]
        file = path / name
        if not file.is_file():
            return f"{name} is missing"
        if file.stat().st_size != expected["bytes"]:
            return f"{name} has {file.stat().st_size} bytes, the manifest says {expected['bytes']}"
        if _sha256(file) != expected["sha256"]:
            return f"{name} fails its SHA-256 check"
    return None


@dataclass
class Resume:
    """A verified resume checkpoint and the run directory it belongs to."""

    path: Path
    run_dir: Path
    epoch: int      # whole epochs trained
    step: int = 0   # batches of the next epoch trained (a mid-epoch checkpoint)
    loaded: tuple | None = field(default=None, repr=False)  # load()'s result, once read

    def load(self) -> tuple[dict, dict, dict]:
        """(network state, optimizer state, callback/RNG state), read without running code;
        the state checked against the manifest's epoch."""
        state = load_pickle(self.path / "state.pkl")
        if not (isinstance(state, dict) and state.get("epoch") == self.epoch
                and state.get("step", 0) == self.step
                and isinstance(state.get("callbacks"), dict)
                and isinstance(state.get("rng"), dict)):
            raise CheckpointError(f"{self.path / 'state.pkl'}: not the run state of epoch "
                                  f"{self.epoch} this checkpoint's manifest names (it needs "
                                  "'epoch', 'callbacks' and 'rng'); the checkpoint was "
                                  "altered. Remove it to resume from the one before.")
        for owner in state["callbacks"].values():
            if isinstance(owner, dict):
                owner.update({key: self._weight_set(value) for key, value in owner.items()
                              if isinstance(value, dict) and set(value) == {WEIGHTS_REF}})
        return (load_weights(self.path / "network.pdparams"),
                load_weights(self.path / "optimizer.pdopt", tensors_only=False), state)

    def _weight_set(self, reference: dict) -> dict:
        name = reference[WEIGHTS_REF]
        if not (isinstance(name, str) and _WEIGHT_FILE.match(name)
                and (self.path / name).is_file()):
            raise CheckpointError(f"{self.path / 'state.pkl'}: names a weights file "
                                  f"{str(name)[:80]!r} the checkpoint does not hold; the "
                                  "checkpoint was altered. Remove it to resume from the one "
                                  "before.")
        return load_weights(self.path / name)


def run_dir_of(pointer: str | Path) -> Path:
    """The run directory a `Global.checkpoints` value points into (nothing is read)."""
    p = Path(pointer)
    if (p / "manifest.json").exists() or p.name.startswith("epoch-"):
        return p.parents[2]
    if (p / "checkpoints" / "resume").is_dir():
        return p
    raise CheckpointError(f"Global.checkpoints: {p} is neither a run directory with "
                          "checkpoints/resume/ nor a resume checkpoint (epoch-NNNN).")


def locate(pointer: str | Path) -> Resume:
    """Find the newest intact resume checkpoint from a run directory or a checkpoint path."""
    p, run_dir = Path(pointer), run_dir_of(pointer)
    if run_dir == p:
        candidates = sorted((p / "checkpoints" / "resume").glob("epoch-*"), reverse=True)
    else:
        candidates = [p] + sorted(p.parent.glob("epoch-*"), reverse=True)
    problems = []
    for candidate in dict.fromkeys(candidates):
        problem = verify(candidate)
        if problem is None:
            for bad, why in problems:
                log.warning("resume: skipped damaged checkpoint %s (%s); using %s", bad, why,
                            candidate)
            manifest = read_manifest(candidate)
            return Resume(candidate, run_dir, manifest["epoch"], manifest.get("step", 0))
        problems.append((candidate, problem))
    detail = "; ".join(f"{c}: {why}" for c, why in problems) or "none found"
    raise CheckpointError(f"No intact resume checkpoint under {p} ({detail}).")
