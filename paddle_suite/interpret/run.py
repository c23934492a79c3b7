"""Saliency maps for image files with a trained model (what tools/interpret.py runs)."""
from __future__ import annotations

import glob
from pathlib import Path

from ..config.loader import Config
from ..data.datasets import IMAGE_EXTENSIONS
from ..data.imageio import read_image
from ..data.transforms import build_transforms
from ..errors import UserError
from ..lifecycle.engine import build
from ..visual.pictures import prediction_text, saliency_figure
from ..visual.plots import figure_to_array, save_figure
from ..visual.saliency import METHODS, _layer, overlay
from .interpretdl_backend import backend_for


def expand_images(patterns: list[str]) -> list[Path]:
    """Files, directories (their images) and glob patterns -> a sorted list of paths."""
    found = []
    for pattern in patterns:
        p = Path(pattern)
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_EXTENSIONS)
        elif any(ch in pattern for ch in "*?["):
            found += sorted(Path(f) for f in glob.glob(pattern, recursive=True))
        else:
            found.append(p)
    if not found:
        raise UserError(f"--images {' '.join(patterns)}: no image files found.")
    return found


def interpret_images(cfg: Config, method: str, images: list[str], out_dir: str | Path,
                     layer: str | None = None, target: int | None = None,
                     backend: str = "suite") -> dict:
    """Write `<out>/<image stem>_<method>.png` (the input, the map on its colour scale, the
    overlay, the prediction) and VisualDL images for each image. `backend`: "suite" (the
    methods of `visual/saliency.py`) or "interpretdl" (see `interpretdl_backend.py`).

    Unreadable images are named and skipped; returns {"written": [...], "failed": [...]}.
    """
    explain = backend_for(backend)
    title = method if backend == "suite" else f"{method} (InterpretDL)"
    if backend == "suite" and method not in METHODS:
        raise UserError(f"--method {method!r}: unknown interpretation method. Methods: "
                        f"{', '.join(METHODS)}.")
    if not cfg["Global"]["pretrained_model"]:
        raise UserError("Global.pretrained_model: set it to the weights to explain "
                        "(-o Global.pretrained_model=<run dir or .pdparams>).")
    paths = expand_images(images)
    built = build(cfg, train=False)
    section = cfg["DataLoader"]["Eval"] or cfg["DataLoader"]["Train"]
    read = _reader(build_transforms(section["transforms"]), cfg["Arch"].get("in_channels", 1))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from ..visual.vdl import open_writer
    writer = open_writer(out)
    written, failed = [], []
    try:
        for index, path in enumerate(paths):
            try:
                image = read(path)
            except UserError as exc:
                failed.append({"image": str(path), "error": str(exc)})  # the caller says it
                continue
            if method in ("gradcam", "scorecam") and backend == "suite":
                _layer(built.net, layer, image)  # a wrong --layer is an error before any work
            sal, cls, probs = explain(method, built.net, image, target, layer=layer)
            written.append(_write_map(writer, out, path, index, (method, title, target),
                                      (image, sal, cls, probs), built.data.class_names))
    finally:
        writer.close()
    if not written:
        raise UserError(f"None of the {len(paths)} images could be read: "
                        + "; ".join(f["error"] for f in failed))
    return {"written": written, "failed": failed}


def _reader(transform, channels: int):
    return lambda path: transform(read_image(path, channels))


def _write_map(writer, out: Path, path: Path, index: int, what: tuple, result: tuple,
               names: list) -> dict:
    """Draw one image's map (file and VisualDL image); its row of the result."""
    method, title, target = what
    image, sal, cls, probs = result
    label = names[cls] if cls < len(names) else cls
    fig = saliency_figure(image, sal, overlay(image, sal), title,
                          prediction_text(names, probs)
                          + (f"; explained: class {label}" if target is not None else ""))
    writer.add_image(f"saliency/{method}/{path.stem}", figure_to_array(fig), index)
    name = save_figure(fig, out / f"{path.stem}_{method}.png")
    return {"image": str(path), "output": str(name), "class": str(label),
            "probability": float(probs[cls])}
