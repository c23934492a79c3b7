"""Run a trained run's model over data views (for checks that need predictions)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import paddle

from ..data.transforms import build_transforms
from ..errors import UserError

BATCH = 256


def predict_views(views: dict, run_dir: str | Path) -> dict:
    """{set name: (view, softmax probabilities [N, C])} with the run's model and weights
    (best, else last) and the run's Eval transforms, applied to every sample of each view.
    The run must have been trained for the views' image size and channel count."""
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
    out = {}
    for name, view in views.items():
        shown = View(view.base, view.indices, transform)
        probs = []
        for start in range(0, len(shown), BATCH):
            batch = []
            for i in range(start, min(start + BATCH, len(shown))):
                try:
                    batch.append(shown.load(i)[0])
                except Exception:  # noqa: BLE001 - unreadable: listed by the scan already
                    batch.append(None)
            probs.append(_scores(net, batch, cfg["Arch"]["class_num"]))
        out[name] = (view, np.concatenate(probs) if probs else np.zeros((0, 1)))
    return out


def _scores(net, batch: list, classes: int) -> np.ndarray:
    """Softmax scores of a batch; an unreadable sample gets uniform scores (never suspect)."""
    scores = np.full((len(batch), classes), 1.0 / classes, np.float32)
    present = [i for i, x in enumerate(batch) if x is not None]
    if present:
        with paddle.no_grad():
            x = paddle.to_tensor(np.stack([batch[i] for i in present]).astype("float32"))
            scores[present] = paddle.nn.functional.softmax(net(x), axis=-1).numpy()
    return scores
