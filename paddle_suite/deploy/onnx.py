"""ONNX conversion of an exported model with paddle2onnx, checked with onnxruntime.

Offline by construction: paddle2onnx's default graph optimiser (polygraphy) pip-installs
packages at run time; it is switched off (`optimize_tool="None"`). paddle2onnx and
onnxruntime are optional: `pip install paddle2onnx onnxruntime`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError


def _require():
    try:
        import onnxruntime
        import paddle2onnx
    except ImportError:
        raise UserError("ONNX export needs paddle2onnx and onnxruntime: "
                        "pip install paddle2onnx onnxruntime") from None
    return paddle2onnx, onnxruntime


def to_onnx(model_dir: Path, opset: int = 11) -> Path:
    """Convert `<model_dir>/inference.json|.pdmodel` to `<model_dir>/inference.onnx`."""
    paddle2onnx, _ = _require()
    model = model_dir / "inference.json"
    if not model.is_file():
        model = model_dir / "inference.pdmodel"
    out = model_dir / "inference.onnx"
    paddle2onnx.export(str(model), str(model_dir / "inference.pdiparams"), str(out),
                       opset_version=opset, enable_onnx_checker=True, optimize_tool="None")
    if not out.is_file():
        raise UserError(f"paddle2onnx did not write {out}.")
    return out


def onnx_session(path: Path):
    _, ort = _require()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session, batch: np.ndarray) -> np.ndarray:
    return session.run(None, {session.get_inputs()[0].name: batch.astype(np.float32)})[0]


def onnx_outputs(path: Path, samples: np.ndarray) -> np.ndarray:
    """The ONNX model's outputs for `samples`, run by onnxruntime on the CPU."""
    return run_onnx(onnx_session(path), samples)
