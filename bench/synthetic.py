"""Synthetic image folders of any size, written fast: `classes` class folders of `per_class`
small PNGs each (a fixed random template per class plus noise, so a network can learn
something), in the ImageFolder layout `root/<split>/<class>/<n>.png`.

    python bench/synthetic.py --out /tmp/syn --classes 1000 --per-class 20 --eval-per-class 5
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np


def write_folders(root: str | Path, classes: int, per_class: int, eval_per_class: int = 0,
                  size: int = 28, channels: int = 1, seed: int = 0) -> dict:
    """Write train/ (and eval/ when eval_per_class > 0); returns {split: file count}."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    counts = {}
    templates = rng.integers(0, 256, (classes, size, size, channels), dtype=np.uint8)
    for split, count in (("train", per_class), ("eval", eval_per_class)):
        if count <= 0:
            continue
        for c in range(classes):
            folder = root / split / f"class_{c:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            noise = rng.integers(-40, 41, (count, size, size, channels), dtype=np.int16)
            images = np.clip(templates[c].astype(np.int16) + noise, 0, 255).astype(np.uint8)
            for n in range(count):
                ok, buf = cv2.imencode(".png", images[n])
                (folder / f"{n:05d}.png").write_bytes(buf.tobytes())
        counts[split] = classes * count
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--eval-per-class", type=int, default=5)
    parser.add_argument("--size", type=int, default=28)
    args = parser.parse_args(argv)
    print(write_folders(args.out, args.classes, args.per_class, args.eval_per_class, args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
