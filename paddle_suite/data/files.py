"""Data sets on disk: class-folder trees and file lists (PaddleClas and PaddleX layouts)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from ..errors import DataError
from .datasets import IMAGE_EXTENSIONS, FileDataset


def _directory(path: str, key: str) -> Path:
    p = Path(path)
    if not p.is_dir():
        raise DataError(f"Data directory not found: {p} (dataset key '{key}').")
    return p


def image_folder(root: str, channels: int = 1):
    """A class-folder tree: root/<class name>/<image>. Classes are the sorted folder names."""
    base = _directory(root, "root")
    classes = sorted(d.name for d in base.iterdir() if d.is_dir())
    if not classes:
        raise DataError(f"{base}: no class folders found; expected root/<class>/<image files>.")
    paths, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(f for f in (base / name).rglob("*") if f.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise DataError(f"{base / name}: class folder '{name}' holds no images "
                            f"({', '.join(IMAGE_EXTENSIONS)}).")
        paths += [str(f) for f in files]
        labels += [label] * len(files)
    return FileDataset(paths, labels, paths, channels, len(classes), classes)


def read_label_map(path: Path) -> list[str]:
    """Read 'id name' lines (ids 0..C-1 in any order) into a list of class names."""
    names = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if not parts[0].isdigit():
            raise DataError(f"{path}, line {number}: expected 'class_id name', got {line!r}.")
        names[int(parts[0])] = parts[1].strip() if len(parts) > 1 else parts[0]
    if sorted(names) != list(range(len(names))):
        raise DataError(f"{path}: class ids must be 0..{len(names) - 1} with none missing.")
    return [names[i] for i in range(len(names))]


def read_file_list(list_path: Path, image_root: Path, channels: int,
                   num_classes: int | None = None, class_names=None,
                   skipped: list | None = None) -> FileDataset:
    """Read 'relative/path label' lines; errors and duplicates name the file and line.

    With a `skipped` list, a missing image or a duplicate is recorded there and left out
    instead of raising.
    """
    if not list_path.is_file():
        raise DataError(f"File list not found: {list_path}.")
    paths, labels, sources, seen = [], [], [], {}
    for number, line in enumerate(list_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rsplit(maxsplit=1)
        where = f"{list_path}, line {number}"
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise DataError(f"{where}: expected 'relative/path.jpg label', got {line!r}.")
        path = image_root / parts[0]
        problem = (f"image {path} does not exist" if not path.is_file() else
                   f"{parts[0]} is listed twice (first at line {seen[parts[0]]})"
                   if parts[0] in seen else None)
        if problem and skipped is not None:
            skipped.append({"where": where, "problem": problem})
            continue
        if problem:
            raise DataError(f"{where}: {problem}.")
        seen[parts[0]] = number
        paths.append(str(path)), labels.append(int(parts[1])), sources.append(where)
    if not paths:
        raise DataError(f"{list_path}: the file list is empty.")
    return FileDataset(paths, labels, sources, channels, num_classes, class_names)


def file_list(image_root: str, cls_label_path: str, label_map: str | None = None,
              channels: int = 1, skipped: list | None = None):
    """PaddleClas layout: a list of 'relative/path label' lines (+ optional 'id name' map)."""
    names = read_label_map(Path(label_map)) if label_map else None
    return read_file_list(Path(cls_label_path), _directory(image_root, "image_root"), channels,
                          len(names) if names else None, names, skipped)


def paddlex(dataset_dir: str, split: Literal["train", "val"] = "train", channels: int = 1,
            skipped: list | None = None):
    """PaddleX classification layout: label.txt ('id name'), train.txt and val.txt."""
    base = _directory(dataset_dir, "dataset_dir")
    label_file = base / "label.txt"
    if not label_file.is_file():
        raise DataError(f"{base}: missing label.txt (the PaddleX layout needs label.txt, "
                        "train.txt and val.txt).")
    names = read_label_map(label_file)
    return read_file_list(base / f"{split}.txt", base, channels, len(names), names, skipped)
