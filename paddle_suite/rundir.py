"""Run directories: `<output_dir>/<experiment>/<run-id>/`, created fresh, never reused."""
from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

from .checkpoint import atomic_write_bytes


def create_run_dir(output_dir: str | Path, experiment: str, clock=time.localtime) -> Path:
    """Create and return a new run directory named after the current time.

    If the name exists (two runs in one second), `-2`, `-3`, ... is appended: an existing
    run directory is never reused.
    """
    base = Path(output_dir) / experiment
    base.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("%Y%m%d-%H%M%S", clock())
    for n in range(1, 10_000):
        candidate = base / (stem if n == 1 else f"{stem}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh run directory under {base}")


def latest_run(output_dir: str | Path, experiment: str) -> Path | None:
    """The most recently created run directory of an experiment, if any."""
    base = Path(output_dir) / experiment
    runs = [p for p in base.iterdir() if p.is_dir()] if base.is_dir() else []
    return max(runs, key=lambda p: p.stat().st_mtime) if runs else None


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_json(path: str | Path, data: dict) -> None:
    """Write JSON atomically (NaN/inf become null, so any JSON reader accepts the file)."""
    text = json.dumps(_json_safe(data), indent=2, sort_keys=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def attach_log_file(path: str | Path) -> logging.Handler:
    """Send the `paddle_suite` logger's records to `path` too; returns the handler to detach."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("paddle_suite")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
