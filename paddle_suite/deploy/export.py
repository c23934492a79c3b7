"""Inference-model export, verification, and the PaddleClas/PaddleX deploy description.

`export_model(cfg)` writes into `<dir>/`:

    inference.json + inference.pdiparams   the Paddle 3 (PIR) program and weights (PaddleX 3)
    inference.pdmodel                      the same graph as a pre-PIR program, sharing the
                                           parameter file (PaddleClas 2.x); legacy=False skips it
    inference.yml                          pre-processing, top-k post-processing, labels
                                           (PaddleX 3; description.py says what the tools need)
    inference_cls.yaml                     the same for PaddleClas's deploy predictor
    weights.safetensors                    the weights, for sharing (loadable with the suite)

and then proves the export: Paddle Inference (on each program), `paddle.jit.load` (and
onnxruntime) run real eval samples and must agree with the dygraph model within 1e-4 (max
absolute difference) and on every top-1.
"""
from __future__ import annotations

import contextlib
import filecmp
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import paddle
import yaml
from paddle.static import InputSpec

from ..config.loader import Config, locating
from ..errors import OptionError, UserError
from ..lifecycle.engine import build
from ..models import check_same_network
from ..runs.checkpoint import load_into, weights_path
from .description import (
    DeployNet,
    deploy_name,
    deploy_name_reason,
    fed_channels,
    inference_yml,
    paddleclas_yml,
)
from .onnx import onnx_outputs, to_onnx

log = logging.getLogger("paddle_suite")
TOLERANCE = 1e-4


class ExportError(UserError):
    """The exported model does not compute what the trained model computes."""


def predictor(model_dir: Path, legacy: bool = False):
    """A Paddle Inference predictor (CPU) for an exported model directory."""
    model = model_dir / ("inference.pdmodel" if legacy else "inference.json")
    params = model_dir / "inference.pdiparams"
    for path in (model, params):
        if not path.is_file():
            raise UserError(f"{model_dir}: {path.name} is missing; export the model first "
                            "(tools/export_model.py).")
    config = paddle.inference.Config(str(model), str(params))
    config.disable_gpu()
    config.disable_glog_info()
    return paddle.inference.create_predictor(config)


def run_predictor(pred, batch: np.ndarray) -> np.ndarray:
    handle = pred.get_input_handle(pred.get_input_names()[0])
    handle.reshape(list(batch.shape))
    handle.copy_from_cpu(np.ascontiguousarray(batch, dtype=np.float32))
    pred.run()
    return pred.get_output_handle(pred.get_output_names()[0]).copy_to_cpu()


def compare(name: str, reference: np.ndarray, output: np.ndarray) -> dict:
    diff = float(np.abs(reference - output).max())
    agree = float((reference.argmax(1) == output.argmax(1)).mean())
    return {"runtime": name, "max_abs_diff": diff, "top1_agreement": agree,
            "ok": diff <= TOLERANCE and agree == 1.0}


def verify(model_dir: Path, served, net, samples: np.ndarray, fed: int,
           legacy: bool = False, onnx: bool = False) -> list[dict]:
    """Run the exported programs (Paddle Inference on the JSON and the legacy program,
    `paddle.jit.load`, optionally onnxruntime) on `samples` and compare each with the dygraph
    network. Samples are fed with `fed` channels (grey repeated as RGB for an adapter)."""
    net.eval()
    with paddle.no_grad():
        reference = net(paddle.to_tensor(samples))
        if served.softmax:
            reference = paddle.nn.functional.softmax(reference, axis=-1)
    reference = reference.numpy()
    fed_samples = np.repeat(samples, fed, axis=1) if fed != samples.shape[1] else samples
    rows = [compare("paddle.inference", reference,
                    run_predictor(predictor(model_dir), fed_samples))]
    if legacy:
        rows.append(compare("paddle.inference (legacy .pdmodel)", reference,
                            run_predictor(predictor(model_dir, legacy=True), fed_samples)))
    loaded = paddle.jit.load(str(model_dir / "inference"))
    rows.append(compare("paddle.jit.load", reference,
                        loaded(paddle.to_tensor(fed_samples)).numpy()))
    if onnx:
        rows.append(compare("onnxruntime", reference,
                            onnx_outputs(to_onnx(model_dir), fed_samples)))
    return rows


# Paddle 3.3.1's jit.save prints this C++ warning on stderr for a network that ends in a
# softmax (as every export does); the tools showed it even with GLOG_minloglevel=2. It
# concerns nothing the user can change.
PADDLE_SAVE_NOISE = "not support input out tensor for now"


@contextlib.contextmanager
def _stderr_without(noise: str):
    """Run the block with file descriptor 2 captured; write back every line but `noise`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode("utf-8", "replace").splitlines(True)
                    if noise not in line]
            sys.stderr.write("".join(kept))


def _save(net, path: Path, spec: InputSpec) -> None:
    with _stderr_without(PADDLE_SAVE_NOISE):
        paddle.jit.save(net, str(path), input_spec=[spec])


def _legacy_save(cfg: Config, weights: Path, out: Path) -> None:
    """Add the pre-PIR `inference.pdmodel` beside the JSON program. Paddle reads
    FLAGS_enable_pir_api when it is imported, so a child process with the flag off rebuilds
    the model and saves it into a scratch directory; its parameter file must be the same
    bytes as the one already written (both programs then share `inference.pdiparams`)."""
    scratch = Path(tempfile.mkdtemp(prefix=".legacy-", dir=out))
    config_file = scratch / "config.yaml"
    config_file.write_text(cfg.to_yaml(), encoding="utf-8")
    code = "from paddle_suite.deploy.export import legacy_child; import sys; legacy_child(*sys.argv[1:])"
    env = {**os.environ, "FLAGS_enable_pir_api": "0", "GLOG_minloglevel": "2"}
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(config_file), str(weights),
                               str(scratch / "inference")],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
            raise UserError(f"Legacy (.pdmodel) export failed: {tail[0]}")
        if not filecmp.cmp(scratch / "inference.pdiparams", out / "inference.pdiparams",
                           shallow=False):
            raise ExportError("The legacy program's parameter file differs from the Paddle 3 "
                              "one, so they cannot share a directory; export with --no-legacy.")
        for name in ("inference.pdmodel", "inference.pdiparams.info"):
            if (scratch / name).exists():
                os.replace(scratch / name, out / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def legacy_child(config_file: str, weights: str, path: str) -> None:
    """Runs with FLAGS_enable_pir_api=0: rebuild the served model, load the weights, save."""
    from ..config.loader import load_config
    cfg = load_config(config_file, ["Global.checkpoints=null", "Global.pretrained_model=null"])
    served, spec, _, _ = _served(cfg, Path(weights))
    _save(served, Path(path), spec)


def _served(cfg: Config, weights: Path):
    """(DeployNet, its InputSpec, the built model, the eval view) for the weights. Built
    under fresh parameter names, so the legacy child names (and orders) them the same."""
    with paddle.utils.unique_name.guard():
        built = build(cfg, train=False)
    load_into(built.net, weights)
    built.net.eval()
    view = built.data.eval or built.data.train
    channels, *hw = view.fallback[0].shape
    fed = fed_channels(channels, cfg["Infer"])
    served = DeployNet(built.net, fed != channels, cfg["Infer"]["softmax"])
    served.eval()
    return served, InputSpec([None, fed, *hw], "float32", "x"), built, view


SOURCE = "export_source.json"  # which weights an export directory holds


def _claim(out: Path, weights: Path) -> None:
    """Refuse to write over a folder that holds anything but an export of these same
    weights (a PaddleClas config exports every run to the same `./inference`)."""
    if not out.is_dir() or not any(out.iterdir()):
        return
    try:
        source = json.loads((out / SOURCE).read_text(encoding="utf-8")).get("weights")
    except (OSError, ValueError, AttributeError):
        source = None
    if source != str(weights.resolve()):
        held = f"an export of {source}" if source else \
            "files that are not an export of these weights"
        raise UserError(f"{out}: already holds {held}; nothing was overwritten. Export to "
                        "another folder (--out DIR or Global.save_inference_dir) or remove it.")


@locating
def export_model(cfg: Config, out_dir: str | None = None, legacy: bool = True,
                 samples: int = 64, onnx: bool = False) -> dict:
    """Export the weights in Global.pretrained_model; verify; return a report dict.
    `legacy` also writes the pre-Paddle-3 `inference.pdmodel` (PaddleClas 2.x reads it)."""
    pointer = cfg["Global"]["pretrained_model"]
    if not pointer:
        raise OptionError("Global.pretrained_model: set it to the checkpoint or run directory "
                          "to export (-o Global.pretrained_model=logs/<exp>/<run>).")
    weights = weights_path(Path(pointer))
    check_same_network(weights, cfg["Arch"])  # before the data and model are built
    out = Path(out_dir or cfg["Global"]["save_inference_dir"] or _default_out(weights))
    _claim(out, weights)
    bare = cfg.with_global(pretrained_model=None)
    served, spec, built, view = _served(bare, weights)
    shape = view.fallback[0].shape
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("inference.pdmodel", "inference.pdiparams.info"):
        (out / stale).unlink(missing_ok=True)
    _save(served, out / "inference", spec)
    if legacy:
        _legacy_save(bare, weights, out)
    description = inference_yml(cfg, built.data.class_names, shape)
    for name, content in (("inference.yml", description),
                          ("inference_cls.yaml", paddleclas_yml(description))):
        with open(out / name, "w", encoding="utf-8") as f:
            yaml.safe_dump(content, f, sort_keys=False, allow_unicode=True)
    from safetensors.numpy import save_file
    save_file({k: v.numpy() for k, v in built.net.state_dict().items()},
              str(out / "weights.safetensors"))
    (out / SOURCE).write_text(json.dumps({"weights": str(weights.resolve())}) + "\n",
                              encoding="utf-8")
    batch = np.stack([view.load(i)[0] for i in range(min(samples, len(view)))])
    rows = verify(out, served, built.net, batch, spec.shape[1], legacy, onnx)
    report = {"weights": str(weights), "model_dir": str(out), "samples": len(batch),
              "format": "PIR .json" + (" and legacy .pdmodel" if legacy else ""),
              "model_name": deploy_name(cfg["Arch"]["name"], cfg["Infer"]),
              "model_name_reason": deploy_name_reason(cfg["Arch"]["name"], cfg["Infer"]), "checks": rows}
    bad = [r for r in rows if not r["ok"]]
    if bad:
        raise ExportError(f"Export verification failed in {out}: " + "; ".join(
            f"{r['runtime']}: max |diff| {r['max_abs_diff']:.3g} (limit {TOLERANCE}), top-1 "
            f"agreement {r['top1_agreement']:.4f}" for r in bad))
    return report


def _default_out(weights: Path) -> Path:
    """`<run>/inference` for a run's checkpoint, else `inference/` beside the weights file."""
    folder = weights.parent
    return (folder.parent if folder.name == "checkpoints" else folder) / "inference"

