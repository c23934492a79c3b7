"""Re-evaluate a finished run with its own config and write its report (tools/report.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config.loader import load_config
from ..errors import UserError
from ..runs.checkpoint import load_into, weights_path
from ..visual.mistakes import raw_image
from ..visual.report import write_report
from .engine import build


def _run_weights(run_dir: Path) -> Path | None:
    try:
        return weights_path(run_dir)
    except UserError:
        return None  # the report is written without its per-class part


def report_for_run(run_dir: str | Path, weights: str | None = None) -> Path:
    """Evaluate a run's weights (`weights`, else the run's own by `weights_path`'s rule)
    with its own config; write its report."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise UserError(f"{run_dir}: not a run directory (no config.yaml).")
    cfg = load_config(run_dir / "config.yaml", ["Global.checkpoints=null"])
    chosen = Path(weights) if weights else _run_weights(run_dir)
    if cfg["DataLoader"]["Eval"] is None or chosen is None:
        return write_report(run_dir, None, None, [])
    built = build(cfg, train=False)
    load_into(built.net, chosen)
    logits = built.model.predict(built.data.eval_loader, verbose=0, stack_outputs=True)[0]
    built.data.failures.check()
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    view = built.data.eval
    return write_report(run_dir, z / z.sum(axis=1, keepdims=True), view.labels,
                        built.data.class_names, weights=chosen.name,
                        image_of=lambda i: raw_image(view, i))
