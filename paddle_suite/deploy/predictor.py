"""Run an exported model on image files with Paddle Inference, as a deploy tool would:
the pre-processing and the labels come from the model directory's inference.yml."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np

from ..core.yamlsafe import YamlError, load_yaml
from ..data.imageio import display_path, read_image
from ..errors import UserError
from .export import predictor, run_predictor

REQUIRED = ("inference.yml", "inference.pdiparams")


def load_model_dir(model_dir: str | Path) -> tuple[dict, bool]:
    """(inference.yml contents, legacy format?) after checking every file is there."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise UserError(f"--model-dir {model_dir}: no such directory.")
    for name in REQUIRED:
        if not (model_dir / name).is_file():
            raise UserError(f"--model-dir {model_dir}: {name} is missing (a complete export "
                            "has inference.json or inference.pdmodel, inference.pdiparams and "
                            "inference.yml).")
    legacy = not (model_dir / "inference.json").is_file()
    if legacy and not (model_dir / "inference.pdmodel").is_file():
        raise UserError(f"--model-dir {model_dir}: neither inference.json nor "
                        "inference.pdmodel is there.")
    try:
        spec = load_yaml((model_dir / "inference.yml").read_bytes().decode("utf-8"))
    except (YamlError, UnicodeDecodeError, OSError) as exc:
        raise UserError(f"{model_dir / 'inference.yml'}: cannot read it ({exc}).") from None
    return spec, legacy


def _channels(ops: list) -> int:
    for op in ops:
        if "NormalizeImage" in op:
            return int(op["NormalizeImage"].get("channel_num", 3))
    return 3


def preprocess(image: np.ndarray, ops: list) -> np.ndarray:
    """Apply deploy `transform_ops` (ResizeImage, CropImage, NormalizeImage, ToCHWImage)."""
    for op in ops:
        name, args = next(iter(op.items()))
        args = args or {}
        if name == "ResizeImage":
            if "resize_short" in args:
                h, w = image.shape[:2]
                scale = args["resize_short"] / min(h, w)
                size = (int(round(w * scale)), int(round(h * scale)))
            else:
                size = tuple(args["size"]) if isinstance(args["size"], list) else \
                    (args["size"], args["size"])
            image = cv2.resize(image, size)
        elif name == "CropImage":
            ch, cw = (args["size"], args["size"]) if isinstance(args["size"], int) else args["size"]
            h, w = image.shape[:2]
            y, x = max((h - ch) // 2, 0), max((w - cw) // 2, 0)
            image = image[y:y + ch, x:x + cw]
        elif name == "NormalizeImage":
            image = image.astype(np.float32) * float(args.get("scale", 1 / 255.0))
            image = (image - np.asarray(args["mean"], np.float32)) / np.asarray(args["std"],
                                                                                np.float32)
        elif name == "ToCHWImage":
            image = image[:, :, None] if image.ndim == 2 else image
            image = image.transpose(2, 0, 1)
        else:
            raise UserError(f"inference.yml: unsupported pre-processing op {name!r}.")
        if image.ndim == 2:
            image = image[:, :, None]
    return np.ascontiguousarray(image, dtype=np.float32)


def read_for_model(path: Path, channels: int) -> np.ndarray:
    """Read with OpenCV and convert gray/colour to what the model takes (1: gray, 3: RGB)."""
    image = read_image(path, channels)
    return image[:, :, 0] if channels == 1 else image


def graph_ends_in_softmax(spec: dict, model_dir: Path) -> bool | None:
    """Does the exported graph end in a softmax? The suite's inference.yml says so
    (`Global.output`); PaddleX's and PaddleClas's exports do not, so their program is read
    (the op before the fetch in inference.json). None: a pre-PIR program that cannot tell
    (`probabilities_by_scores` decides from its output)."""
    said = spec.get("Global", {}).get("output")
    if said in ("probabilities", "logits"):
        return said == "probabilities"
    program = model_dir / "inference.json"
    if program.is_file():
        try:
            blocks = json.loads(program.read_bytes())["program"]["regions"][0]["blocks"]
            names = [str(op.get("#", "")) for op in blocks[0]["ops"]]
            kept = [n for n in names if not n.endswith((".fetch", ".scale", ".assign"))]
            return bool(kept) and kept[-1].endswith("softmax")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            pass
    return None


def probabilities_by_scores(output: np.ndarray) -> bool:
    """Scores are probabilities when every row is non-negative and sums to 1."""
    return bool(np.all(output >= 0) and np.allclose(output.sum(axis=1), 1.0, atol=1e-4))


def infer_images(model_dir: str | Path, paths: list[Path], batch_size: int = 16,
                 topk: int | None = None) -> dict:
    """Top-k predictions for each image; unreadable or wrongly sized images are listed."""
    spec, legacy = load_model_dir(model_dir)
    ops = spec["PreProcess"]["transform_ops"]
    labels = spec["PostProcess"]["Topk"]["label_list"]
    k = min(topk or spec["PostProcess"]["Topk"]["topk"], len(labels))
    expected = list(spec["Global"].get("input_shape", []))
    channels = _channels(ops)
    pred = predictor(Path(model_dir), legacy)
    softmaxed = graph_ends_in_softmax(spec, Path(model_dir))  # read once, not per batch
    results, failed, batch, names = [], [], [], []

    def flush():
        if not batch:
            return
        output = run_predictor(pred, np.stack(batch))
        if not (softmaxed if softmaxed is not None else probabilities_by_scores(output)):
            output = np.exp(output - output.max(1, keepdims=True))
            output /= output.sum(1, keepdims=True)
        for path, probs in zip(names, output):
            top = np.argsort(-probs)[:k]
            results.append({"image": display_path(path), "topk": [
                {"class_id": int(i), "label": str(labels[i]), "score": float(probs[i])}
                for i in top]})
        batch.clear()
        names.clear()

    for path in paths:
        try:
            x = preprocess(read_for_model(path, channels), ops)
        except UserError as exc:
            failed.append({"image": display_path(path), "error": str(exc)})
            continue
        if expected and list(x.shape) != expected:
            failed.append({"image": display_path(path), "error": f"{display_path(path)}: {list(x.shape)} after "
                           f"pre-processing, but the model takes {expected}; add a ResizeImage "
                           "to inference.yml or resize the image."})
            continue
        batch.append(x)
        names.append(path)
        if len(batch) == batch_size:
            flush()
    flush()
    return {"results": results, "failed": failed}


def write_results(results: list[dict], path: str | Path) -> None:
    """JSON (a list) or CSV (image, rank, class_id, label, score), by the file's extension."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["image", "rank", "class_id", "label", "score"])
            for row in results:
                for rank, hit in enumerate(row["topk"], 1):
                    writer.writerow([row["image"], rank, hit["class_id"], hit["label"],
                                     f"{hit['score']:.6f}"])
    else:
        path.write_text(json.dumps(results, indent=2), encoding="utf-8")
