"""Inference-model export, verification, and the PaddleClas/PaddleX deploy description.

`export_model(cfg)` writes into `<dir>/`:

    inference.json + inference.pdiparams   the Paddle 3 (PIR) program and weights
    (inference.pdmodel + inference.pdiparams with legacy=True, for pre-3.0 consumers)
    inference.yml                          pre-processing, top-k post-processing, labels
    weights.safetensors                    the weights, for sharing (loadable with the suite)

and then proves the export: Paddle Inference and `paddle.jit.load` run real eval samples and
must agree with the dygraph model within 1e-4 (max absolute difference) and on every top-1.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import yaml
from paddle.static import InputSpec

from .checkpoint import load_into, weights_path
from .config import Config
from .engine import build
from .errors import ConfigError, UserError

log = logging.getLogger("paddle_suite")
TOLERANCE = 1e-4


class SoftmaxHead(paddle.nn.Layer):
    """The network followed by a softmax, for deploy targets that want probabilities."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return paddle.nn.functional.softmax(self.net(x), axis=-1)


class ExportError(UserError):
    """The exported model does not compute what the trained model computes."""


def deploy_ops(transforms: list, channels: int) -> list:
    """Translate the Eval transforms into PaddleClas deploy `transform_ops`."""
    ops, normalized = [], False
    for item in transforms:
        name, options = next(iter(item.items()))
        if name == "Resize":
            size = options["size"]
            ops.append({"ResizeImage": {"resize_short": size} if isinstance(size, int)
                        else {"size": [size[1], size[0]]}})
        elif name == "CenterCrop":
            size = options["size"]
            ops.append({"CropImage": {"size": size if isinstance(size, int) else list(size)}})
        elif name == "Normalize":
            ops.append({"NormalizeImage": {"scale": 1 / 255.0, "mean": list(options["mean"]),
                                           "std": list(options["std"]), "order": "",
                                           "channel_num": channels}})
            normalized = True
        elif name != "ToCHW":
            raise ConfigError(f"DataLoader.Eval.transforms: {name} cannot be expressed in a "
                              "deploy pre-processing (supported: Resize, CenterCrop, Normalize).")
    if not normalized:
        ops.append({"NormalizeImage": {"scale": 1 / 255.0, "mean": [0.0] * channels,
                                       "std": [1.0] * channels, "order": "",
                                       "channel_num": channels}})
    return ops + [{"ToCHWImage": None}]


def inference_yml(cfg: Config, class_names: list[str], input_shape, softmax: bool) -> dict:
    """The deploy description PaddleClas/PaddleX deploy tools read (plus our input shape)."""
    section = cfg["DataLoader"]["Eval"] or cfg["DataLoader"]["Train"]
    channels = cfg["Arch"].get("in_channels", 1)
    return {"Global": {"model_name": cfg["Arch"]["name"], "input_shape": list(input_shape),
                       "output": "probabilities" if softmax else "logits"},
            "PreProcess": {"transform_ops": deploy_ops(section["transforms"], channels)},
            "PostProcess": {"Topk": {"topk": min(cfg["Infer"]["topk"], len(class_names)),
                                     "label_list": list(class_names)}}}


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


def verify(model_dir: Path, net, samples: np.ndarray, legacy: bool = False,
           onnx: bool = False) -> list[dict]:
    """Compare Paddle Inference, paddle.jit.load (and onnxruntime) with the dygraph model."""
    net.eval()
    with paddle.no_grad():
        reference = net(paddle.to_tensor(samples)).numpy()
    rows = [compare("paddle.inference", reference,
                    run_predictor(predictor(model_dir, legacy), samples))]
    if not legacy:
        loaded = paddle.jit.load(str(model_dir / "inference"))
        rows.append(compare("paddle.jit.load", reference,
                            loaded(paddle.to_tensor(samples)).numpy()))
    if onnx:
        from .onnx_export import to_onnx, verify_onnx
        rows.append(verify_onnx(to_onnx(model_dir), reference, samples))
    return rows


def _legacy_save(cfg: Config, weights: Path, path: Path, softmax: bool) -> None:
    """Write the pre-PIR `.pdmodel` format. Paddle reads FLAGS_enable_pir_api when it is
    imported, so a child process with the flag off rebuilds the model and saves it."""
    config_file = path.parent / ".export-config.yaml"
    config_file.write_text(cfg.to_yaml(), encoding="utf-8")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from paddle_suite.export import legacy_child; legacy_child(*sys.argv[2:])")
    env = {**os.environ, "FLAGS_enable_pir_api": "0", "GLOG_minloglevel": "2"}
    root = str(Path(__file__).resolve().parents[1])
    try:
        proc = subprocess.run([sys.executable, "-c", code, root, str(config_file), str(weights),
                               str(path), "1" if softmax else "0"],
                              env=env, capture_output=True, text=True)
    finally:
        config_file.unlink(missing_ok=True)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"Legacy (.pdmodel) export failed: {tail[0]}")


def legacy_child(config_file: str, weights: str, path: str, softmax: str) -> None:
    """Runs with FLAGS_enable_pir_api=0: rebuild the model, load the weights, save."""
    from .config import load_config
    cfg = load_config(config_file, ["Global.checkpoints=null"])
    built = build(cfg, train=False)
    load_into(built.net, weights)
    built.net.eval()
    net = SoftmaxHead(built.net) if softmax == "1" else built.net
    shape = (built.data.eval or built.data.train).fallback[0].shape
    paddle.jit.save(net, path, input_spec=[InputSpec([None, *shape], "float32", "x")])


def export_model(cfg: Config, out_dir: str | None = None, legacy: bool = False,
                 samples: int = 64, onnx: bool = False) -> dict:
    """Export the weights in Global.pretrained_model; verify; return a report dict."""
    pointer = cfg["Global"]["pretrained_model"]
    if not pointer:
        raise ConfigError("Global.pretrained_model: set it to the checkpoint or run directory "
                          "to export (-o Global.pretrained_model=logs/<exp>/<run>).")
    weights = _final_weights(Path(pointer))
    out = Path(out_dir or cfg["Global"]["save_inference_dir"] or _default_out(weights))
    bare = Config({**cfg, "Global": {**cfg["Global"], "pretrained_model": None}}, cfg.source)
    built = build(bare, train=False)
    load_into(built.net, weights)
    built.net.eval()
    net = SoftmaxHead(built.net) if cfg["Infer"]["softmax"] else built.net
    view = built.data.eval or built.data.train
    shape = view.fallback[0].shape
    spec = InputSpec([None, *shape], "float32", "x")
    out.mkdir(parents=True, exist_ok=True)
    if legacy:
        _legacy_save(cfg, weights, out / "inference", cfg["Infer"]["softmax"])
    else:
        paddle.jit.save(net, str(out / "inference"), input_spec=[spec])
    with open(out / "inference.yml", "w", encoding="utf-8") as f:
        yaml.safe_dump(inference_yml(cfg, built.data.class_names, shape, cfg["Infer"]["softmax"]),
                       f, sort_keys=False, allow_unicode=True)
    from safetensors.numpy import save_file
    save_file({k: v.numpy() for k, v in built.net.state_dict().items()},
              str(out / "weights.safetensors"))
    batch = np.stack([view.load(i)[0] for i in range(min(samples, len(view)))])
    rows = verify(out, net, batch, legacy, onnx)
    report = {"weights": str(weights), "model_dir": str(out), "samples": len(batch),
              "format": "legacy .pdmodel" if legacy else "PIR .json", "checks": rows}
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


def _final_weights(pointer: Path) -> Path:
    if pointer.is_dir() and (pointer / "checkpoints" / "final.pdparams").is_file():
        return pointer / "checkpoints" / "final.pdparams"
    return weights_path(pointer)
