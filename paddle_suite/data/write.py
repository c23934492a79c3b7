"""Write a bundled data set as image files in the layouts other tools read: an ImageFolder
(`<split>/<class>/<n>.png`) or PaddleClas's file lists (`train_list.txt`, `val_list.txt`
with `path label` lines and `label_list.txt` with `id name` lines), so a PaddleClas config
or your own pipeline can be tried on real images offline."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import UserError
from .datasets import mnist10k, sklearn_digits
from .imageio import write_png

SOURCES = {"mnist10k": mnist10k, "sklearn_digits": sklearn_digits}
SPLITS = (("train", "train_list.txt"), ("test", "val_list.txt"))


def write_dataset(source: str, out: str | Path,
                  layout: Literal["imagefolder", "paddleclas"] = "paddleclas",
                  per_class: int | None = None) -> dict:
    """Write `source`'s train and test splits under `out` (which must not exist or be empty);
    `per_class` keeps the first that many images of each class per split. Returns counts."""
    if source not in SOURCES:
        raise UserError(f"--dataset {source!r}: choose one of {', '.join(SOURCES)}.")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out}: not empty; name a new folder (nothing is overwritten).")
    counts = {}
    for split, list_name in SPLITS:
        data = SOURCES[source](split)
        keep = _first_per_class(data.labels, per_class)
        lines = []
        for n in keep:
            label = int(data.labels[n])
            rel = Path(split) / (str(label) if layout == "imagefolder" else "") / f"{n:05d}.png"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            write_png(out / rel, np.asarray(data.images[n]))  # grey: one channel
            lines.append(f"{rel.as_posix()} {label}\n")
        if layout == "paddleclas":
            (out / list_name).write_text("".join(lines), encoding="utf-8")
        counts[split] = len(keep)
    if layout == "paddleclas":
        (out / "label_list.txt").write_text("".join(f"{i} {i}\n" for i in range(10)),
                                            encoding="utf-8")
    return counts


def _first_per_class(labels: np.ndarray, per_class: int | None) -> list[int]:
    if per_class is None:
        return list(range(len(labels)))
    taken: dict[int, int] = {}
    keep = []
    for n, label in enumerate(labels.tolist()):
        if taken.get(label, 0) < per_class:
            taken[label] = taken.get(label, 0) + 1
            keep.append(n)
    return keep
