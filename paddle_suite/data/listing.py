"""Listing image files at ImageNet scale: a compact path table and a cached folder listing.

A million paths as Python strings cost ~100 MB per process, and every forked DataLoader
worker's reference counting touches them, so each worker grows its own copy. `PathTable`
holds them in two numpy arrays (the UTF-8 bytes and their offsets), which forked workers
share without copying. `list_image_folder` walks a class-folder tree with `os.scandir` and
keeps the result in memory (reused by every search trial of a process) and on disk under
`$XDG_CACHE_HOME/paddle_suite/listings/` (default `~/.cache`), valid while no directory of
the tree has changed (its mtime: adding, removing or renaming a file changes it).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np


class PathTable:
    """Paths stored as one byte array plus offsets; `table[i]` is the i-th path (str)."""

    def __init__(self, paths=()):
        encoded = [str(p).encode("utf-8", "surrogateescape") for p in paths]
        self.offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=self.offsets[1:])
        self.blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)

    @classmethod
    def from_arrays(cls, blob: np.ndarray, offsets: np.ndarray) -> "PathTable":
        table = cls()
        table.blob, table.offsets = blob, offsets
        return table

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> str:
        start, end = self.offsets[index], self.offsets[index + 1]
        return self.blob[start:end].tobytes().decode("utf-8", "surrogateescape")

    def __iter__(self):
        return (self[i] for i in range(len(self)))


class ListedAt:
    """Where each entry of a file list was listed ("list.txt, line N"), kept as line numbers."""

    def __init__(self, list_name: str, lines):
        self.list_name, self.lines = list_name, np.asarray(lines, dtype=np.int64)

    def __getitem__(self, index: int) -> str:
        return f"{self.list_name}, line {int(self.lines[index])}"

    def __len__(self) -> int:
        return len(self.lines)


_MEMO: dict = {}


def list_image_folder(base: Path, extensions) -> tuple[list[str], PathTable, np.ndarray]:
    """(class names, image paths, labels) of `base/<class>/**/<image>`: classes sorted by
    name, each class's files sorted by their path inside it. Cached (see the module)."""
    base = Path(base)
    cached = _MEMO.get(str(base.resolve()))
    if cached is not None and _unchanged(cached[3]):
        return cached[:3]
    cached = _read_cache(base)
    if cached is None:
        cached = _walk(base, tuple(extensions))
        _write_cache(base, cached)
    _MEMO[str(base.resolve())] = cached
    return cached[:3]


def _walk(base: Path, extensions: tuple) -> tuple:
    classes = sorted(e.name for e in os.scandir(base) if e.is_dir())
    paths, labels, stamps = [], [], {str(base): os.stat(base).st_mtime_ns}
    for label, name in enumerate(classes):
        found = []
        _collect(os.path.join(base, name), (), extensions, found, stamps)
        found.sort(key=lambda item: item[0])
        paths += [item[1] for item in found]
        labels += [label] * len(found)
    return classes, PathTable(paths), np.asarray(labels, dtype=np.int64), stamps


def _collect(folder: str, parts: tuple, extensions: tuple, found: list, stamps: dict) -> None:
    stamps[folder] = os.stat(folder).st_mtime_ns
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir():
                _collect(entry.path, parts + (entry.name,), extensions, found, stamps)
            elif os.path.splitext(entry.name)[1].lower() in extensions:
                found.append((parts + (entry.name,), entry.path))


def _unchanged(stamps: dict) -> bool:
    try:
        return all(os.stat(folder).st_mtime_ns == stamp for folder, stamp in stamps.items())
    except OSError:
        return False


def _cache_file(base: Path) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(str(base.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return root / "paddle_suite" / "listings" / f"{key[:32]}.npz"


def _read_cache(base: Path) -> tuple | None:
    try:
        with np.load(_cache_file(base), allow_pickle=False) as data:
            folders = list(PathTable.from_arrays(data["folder_blob"], data["folder_offsets"]))
            stamps = dict(zip(folders, data["stamps"].tolist()))
            if data["root"].item() != str(base.resolve()) or not _unchanged(stamps):
                return None
            classes = list(PathTable.from_arrays(data["class_blob"], data["class_offsets"]))
            return (classes, PathTable.from_arrays(data["blob"], data["offsets"]),
                    data["labels"], stamps)
    except (OSError, KeyError, ValueError):
        return None


def _write_cache(base: Path, listing: tuple) -> None:
    """Best effort: an unwritable cache only means listing again next time."""
    classes, table, labels, stamps = listing
    folders, classes_table = PathTable(stamps), PathTable(classes)
    path = _cache_file(base)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, root=np.asarray(str(base.resolve())), blob=table.blob,
                 offsets=table.offsets, labels=labels, class_blob=classes_table.blob,
                 class_offsets=classes_table.offsets, folder_blob=folders.blob,
                 folder_offsets=folders.offsets, stamps=np.asarray(list(stamps.values())))
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass
