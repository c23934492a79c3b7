"""Data sets on disk: class-folder trees and file lists (PaddleClas and PaddleX layouts)."""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import DataError
from .datasets import IMAGE_EXTENSIONS, FileDataset
from .imageio import display_path
from .listing import ListedAt, list_image_folder

MAX_LIST_BYTES = 1 << 30   # a list or index file larger than 1 GiB is refused
_INTEGER = re.compile(r"^-?[0-9]{1,9}$")


def read_lines(path: Path, what: str):
    """(line number, text) for each line of a list or index file. The bytes are decoded as
    UTF-8, keeping any other byte as a surrogate escape, so a file name saved in Latin-1
    still names the same file on disk. A missing file is a DataError naming it."""
    if not path.is_file():
        raise DataError(f"{what} not found: {display_path(path)}.")
    size = path.stat().st_size
    if size > MAX_LIST_BYTES:
        raise DataError(f"{display_path(path)}: {size:,} bytes, over the "
                        f"{MAX_LIST_BYTES >> 30} GiB limit for a {what.lower()}.")
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    return enumerate(text.splitlines(), 1)


def parse_int(text: str, where: str, what: str) -> int:
    """An integer written in ASCII digits (at most 9 of them), else a DataError at `where`."""
    if not _INTEGER.match(text):
        raise DataError(f"{where}: expected {what} (a whole number), got {text!r}.")
    return int(text)


def _directory(path: str, key: str) -> Path:
    p = Path(path)
    if not p.is_dir():
        raise DataError(f"Data directory not found: {p} (dataset key '{key}').")
    return p


def image_folder(root: str, channels: int = 1):
    """A class-folder tree: root/<class name>/<image>. Classes are the sorted folder names.
    The listing is cached (data/listing.py): a million files list once."""
    base = _directory(root, "root")
    classes, paths, labels = list_image_folder(base, IMAGE_EXTENSIONS)
    if not classes:
        raise DataError(f"{base}: no class folders found; expected root/<class>/<image files>.")
    counts = np.bincount(labels, minlength=len(classes))
    for name, count in zip(classes, counts):
        if not count:
            raise DataError(f"{base / name}: class folder '{name}' holds no images "
                            f"({', '.join(IMAGE_EXTENSIONS)}).")
    return FileDataset(paths, labels, None, channels, len(classes), classes)


def read_label_map(path: Path) -> list[str]:
    """Read 'id name' lines (ids 0..C-1 in any order) into a list of class names."""
    names = {}
    for number, line in read_lines(path, "Label map"):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        where = f"{display_path(path)}, line {number}"
        if not _INTEGER.match(parts[0]) or parts[0].startswith("-"):
            raise DataError(f"{where}: expected 'class_id name', got {line!r}.")
        names[int(parts[0])] = parts[1].strip() if len(parts) > 1 else parts[0]
    if sorted(names) != list(range(len(names))):
        raise DataError(f"{path}: class ids must be 0..{len(names) - 1} with none missing.")
    return [names[i] for i in range(len(names))]


def read_file_list(list_path: Path, image_root: Path, channels: int,
                   num_classes: int | None = None, class_names=None,
                   skipped: list | None = None, delimiter: str | None = None) -> FileDataset:
    """Read 'relative/path label' lines (split at the last `delimiter`, default: white
    space); errors and duplicates name the file and line.

    With a `skipped` list, a missing image or a duplicate is recorded there and left out
    instead of raising.
    """
    paths, labels, lines, seen = [], [], [], {}
    for number, line in read_lines(list_path, "File list"):
        if not line.strip():
            continue
        parts = line.rstrip("\r\n").rsplit(delimiter, 1) if delimiter else line.rsplit(maxsplit=1)
        where = f"{display_path(list_path)}, line {number}"
        if len(parts) != 2 or not _INTEGER.match(parts[1]):
            raise DataError(f"{where}: expected 'relative/path.jpg label', got "
                            f"{display_path(line)!r}.")
        path = image_root / parts[0]
        problem = (f"image {display_path(path)} does not exist" if not path.is_file() else
                   f"{parts[0]} is listed twice (first at line {seen[parts[0]]})"
                   if parts[0] in seen else None)
        if problem and skipped is not None:
            skipped.append({"where": where, "problem": problem})
            continue
        if problem:
            raise DataError(f"{where}: {problem}.")
        seen[parts[0]] = number
        paths.append(str(path)), labels.append(int(parts[1])), lines.append(number)
    if not paths:
        raise DataError(f"{list_path}: the file list is empty.")
    return FileDataset(paths, labels, ListedAt(display_path(list_path), lines), channels,
                       num_classes, class_names)


def file_list(image_root: str, cls_label_path: str, label_map: str | None = None,
              delimiter: str | None = None, channels: int = 1, skipped: list | None = None):
    """PaddleClas layout: a list of 'relative/path label' lines (+ optional 'id name' map);
    `delimiter` separates path and label (PaddleClas's key; default: white space)."""
    names = read_label_map(Path(label_map)) if label_map else None
    return read_file_list(Path(cls_label_path), _directory(image_root, "image_root"), channels,
                          len(names) if names else None, names, skipped, delimiter)


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


class BoxedFileDataset(FileDataset):
    """A FileDataset whose images are cropped to a bounding box (x, y, width, height)."""

    def __init__(self, *args, boxes=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.boxes = boxes

    def __getitem__(self, index):
        image, label = super().__getitem__(index)
        x, y, w, h = (int(round(v)) for v in self.boxes[index])
        crop = image[max(y, 0):y + max(h, 1), max(x, 0):x + max(w, 1)]
        return (crop if crop.size else image), label


def _cub_table(path: Path, columns: int) -> dict:
    """Read a CUB index file of 'id value...' lines into {id: [values]}."""
    if not path.is_file():
        raise DataError(f"CUB-200-2011 layout: {path.name} is missing in {path.parent} (the "
                        "layout needs images.txt, image_class_labels.txt, train_test_split.txt, "
                        "classes.txt; bounding_boxes.txt for crop: true).")
    table = {}
    for number, line in read_lines(path, "CUB index file"):
        if not line.strip():
            continue
        parts = line.split(maxsplit=columns)
        if len(parts) != columns + 1:
            raise DataError(f"{path}, line {number}: expected an id and {columns} value(s), "
                            f"got {line!r}.")
        table[parts[0]] = parts[1:]
    return table


def _box(boxes: dict, image_id: str, base: Path) -> list[float]:
    where = f"{base / 'bounding_boxes.txt'}, image id {image_id}"
    if image_id not in boxes:
        raise DataError(f"{where}: no bounding box for this image.")
    try:
        values = [float(v) for v in boxes[image_id]]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise DataError(f"{where}: expected four numbers x y width height, got "
                        f"{boxes[image_id]!r}.")
    return values


def cub200(root: str, split: Literal["train", "test"] = "train", crop: bool = False,
           channels: int = 3):
    """CUB-200-2011 in its own layout: images/, images.txt, image_class_labels.txt (1-based),
    train_test_split.txt, classes.txt and, for `crop`, bounding_boxes.txt."""
    base = _directory(root, "root")
    images = _cub_table(base / "images.txt", 1)
    labels = _cub_table(base / "image_class_labels.txt", 1)
    is_train = _cub_table(base / "train_test_split.txt", 1)
    names = [v[0] for _, v in sorted(_cub_table(base / "classes.txt", 1).items(),
                                     key=lambda kv: int(kv[0]))]
    boxes = _cub_table(base / "bounding_boxes.txt", 4) if crop else {}
    wanted = "1" if split == "train" else "0"
    ids = [i for i in images if is_train.get(i, [""])[0] == wanted]
    for i in ids:
        if i not in labels:
            raise DataError(f"{base / 'image_class_labels.txt'}: no label for image id {i}.")
    paths = [str(base / "images" / images[i][0]) for i in ids]
    targets = [parse_int(labels[i][0], f"{base / 'image_class_labels.txt'}, image id {i}",
                         "a class id") - 1 for i in ids]
    sources = [f"{base / 'images.txt'}, image id {i}" for i in ids]
    if crop:
        return BoxedFileDataset(paths, targets, sources, channels, len(names), names,
                                boxes=[_box(boxes, i, base) for i in ids])
    return FileDataset(paths, targets, sources, channels, len(names), names)
