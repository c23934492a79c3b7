"""A trained run's network as a feature extractor over data views (for the label check of
tools/check_data.py --run)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import paddle

from ..data.transforms import build_transforms
from ..errors import UserError

BATCH = 256


def embed_views(views: dict, indices: dict, run_dir: str | Path) -> dict:
    """{set name: features [len(indices[name]), D]}: what the run's network (its weights by
    the suite's one rule: best, else last) feeds its last Linear layer, for the samples
    `indices[name]` of each view after the run's Eval transforms (its outputs when it has no
    Linear layer). An unreadable sample gets zeros (the scan lists it). The run must have
    been trained for the views' image size and channel count."""
    from ..config.loader import load_config
    from ..data import View
    from ..models import build_model
    from ..runs.checkpoint import load_into
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise UserError(f"--run {run_dir}: not a run directory (no config.yaml).")
    cfg = load_config(run_dir / "config.yaml", ["Global.checkpoints=null"])
    net = build_model({**cfg["Arch"], "pretrained": None, "finetune": None})
    load_into(net, run_dir)
    net.eval()
    section = cfg["DataLoader"]["Eval"] or cfg["DataLoader"]["Train"]
    transform = build_transforms(section["transforms"])
    return {name: _embed(net, View(view.base, view.indices[indices[name]], transform))
            for name, view in views.items()}


def _embed(net, view) -> np.ndarray:
    linears = [layer for layer in net.sublayers() if isinstance(layer, paddle.nn.Linear)]
    captured = []
    hook = (linears[-1].register_forward_pre_hook(
        lambda layer, inputs: captured.append(inputs[0].reshape([inputs[0].shape[0], -1])))
        if linears else None)
    try:
        parts = [_batch_features(net, view, start, captured)
                 for start in range(0, len(view), BATCH)]
    finally:
        if hook is not None:
            hook.remove()
    return np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)


def _batch_features(net, view, start: int, captured: list) -> np.ndarray:
    batch = []
    for i in range(start, min(start + BATCH, len(view))):
        try:
            batch.append(view.load(i)[0])
        except Exception:  # noqa: BLE001 - unreadable: listed by the scan already
            batch.append(None)
    present = [i for i, x in enumerate(batch) if x is not None]
    if not present:
        return np.zeros((len(batch), 1), np.float32)
    captured.clear()
    with paddle.no_grad():
        outputs = net(paddle.to_tensor(np.stack([batch[i] for i in present]).astype("float32")))
    features = (captured[-1] if captured else outputs).numpy().reshape(len(present), -1)
    out = np.zeros((len(batch), features.shape[1]), np.float32)
    out[present] = features
    return out
