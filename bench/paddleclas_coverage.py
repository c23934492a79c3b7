"""Which of PaddleClas's ImageNet configs the suite runs: each is loaded as `tools/train.py`
would (data paths, class_num, epochs and a downloading `pretrained` overridden, as a user
with local data does) and counted as runs, refused (with the first words of the reason) or
crashed (any other exception: a bug), per architecture family.

    python bench/paddleclas_coverage.py PADDLECLAS_CHECKOUT/ppcls/configs/ImageNet

A config that loads is one whose every key is honoured or noted; refusals name the key.
"""
from __future__ import annotations

import argparse
import collections
import logging
import sys
import tempfile
from pathlib import Path

USER_OVERRIDES = ["Global.epochs=1", "Arch.class_num=10", "Global.pretrained_model=null"]
# ... and Arch.pretrained=false where the config downloads weights (`downloads`)


def data_overrides(root: Path) -> list[str]:
    """A tiny PaddleClas file list the configs' data paths are pointed at."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    import cv2
    import numpy as np
    cv2.imwrite(str(root / "img" / "a.png"), np.zeros((32, 32, 3), np.uint8))
    (root / "list.txt").write_text("img/a.png 0\n")
    return [f"DataLoader.{part}.dataset.{key}={value}" for part in ("Train", "Eval")
            for key, value in (("image_root", root), ("cls_label_path", root / "list.txt"))]


def downloads(path: Path) -> list[str]:
    """`Arch.pretrained=false` when the config asks PaddleClas to download weights (a user
    here gives a local file instead)."""
    import yaml
    try:
        arch = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("Arch") or {}
    except yaml.YAMLError:
        return []
    return ["Arch.pretrained=false"] if arch.get("pretrained") is True else []


def classify(path: Path, overrides: list[str]) -> tuple[str, str]:
    from paddle_suite import load_config
    from paddle_suite.errors import UserError
    try:
        load_config(path, overrides + downloads(path))
        return "runs", ""
    except UserError as exc:
        return "refused", str(exc).split(":", 1)[0][:60]
    except Exception as exc:  # noqa: BLE001 - what this script looks for
        return "crashed", f"{type(exc).__name__}: {exc}"[:120]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("configs", help="PaddleClas's ppcls/configs/ImageNet folder")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)
    files = sorted(Path(args.configs).rglob("*.yaml"))
    families = collections.defaultdict(collections.Counter)
    reasons, crashes = collections.Counter(), []
    with tempfile.TemporaryDirectory() as tmp:
        overrides = USER_OVERRIDES + data_overrides(Path(tmp))
        for path in files:
            verdict, why = classify(path, overrides)
            families[path.parent.name][verdict] += 1
            if verdict == "refused":
                reasons[why] += 1
            elif verdict == "crashed":
                crashes.append(f"{path.name}: {why}")
    total = collections.Counter()
    print("| family | configs | runs | refused | crashed |\n| --- | --- | --- | --- | --- |")
    for family, counts in sorted(families.items()):
        total.update(counts)
        print(f"| {family} | {sum(counts.values())} | {counts['runs']} | {counts['refused']} "
              f"| {counts['crashed']} |")
    print(f"| all | {sum(total.values())} | {total['runs']} | {total['refused']} "
          f"| {total['crashed']} |\n\nMost common refusals:")
    for why, count in reasons.most_common(12):
        print(f"- {count} x {why}")
    for line in crashes:
        print(f"CRASH {line}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
