"""Run directories: `<output_dir>/<experiment>/<run-id>/`, created fresh, never reused."""
from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

from ..core.yamlsafe import MAX_BYTES, YamlError, load_yaml
from .checkpoint import atomic_write_bytes


def run_config(run_dir: Path) -> dict:
    """The run's resolved config.yaml as a dict ({} when absent, too large or unreadable)."""
    try:
        with open(Path(run_dir) / "config.yaml", "rb") as f:
            data = load_yaml(f.read(MAX_BYTES + 1).decode("utf-8"))
    except (OSError, UnicodeDecodeError, YamlError):
        return {}
    return data if isinstance(data, dict) else {}


def create_run_dir(output_dir: str | Path, experiment: str, clock=time.localtime,
                   name: str | None = None) -> Path:
    """Create and return a new run directory named `name` (default: the current time).

    If the name exists (two runs in one second, a run name used again), `-2`, `-3`, ... is
    appended: an existing run directory is never reused.
    """
    base = Path(output_dir) / experiment
    base.mkdir(parents=True, exist_ok=True)
    stem = name or time.strftime("%Y%m%d-%H%M%S", clock())
    for n in range(1, 10_000):
        candidate = base / (stem if n == 1 else f"{stem}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh run directory under {base}")


def _started(run_dir: Path) -> float:
    """When a run started: its config.yaml is written once, first thing (the directory's
    own time changes whenever a file in it is added)."""
    config = run_dir / "config.yaml"
    return config.stat().st_mtime if config.is_file() else run_dir.stat().st_mtime


LATEST = "latest"


def resolve_latest(path: str | Path | None) -> str | Path | None:
    """`path` with each component named `latest` that does not exist on disk replaced by the
    most recently started run directory (one with a config.yaml) of the folder before it:
    `logs/lenet_mnist/latest/inference` is the newest run's export. Other paths come back
    unchanged; a `latest` with no run to stand for is a ValueError."""
    if path is None or LATEST not in Path(path).parts:
        return path
    resolved = Path(Path(path).parts[0])
    for part in Path(path).parts[1:]:
        if part == LATEST and not (resolved / part).exists():
            runs = [p for p in resolved.iterdir() if (p / "config.yaml").is_file()] \
                if resolved.is_dir() else []
            if not runs:
                raise ValueError(f"{path}: there is no run directory under {resolved} for "
                                 f"'{LATEST}' to stand for.")
            part = max(runs, key=_started).name
        resolved = resolved / part
    return type(path)(resolved) if isinstance(path, str) else resolved


def run_status(run_dir: Path) -> str | None:
    """`status` from the run's summary.json; None while it has none (running, killed, or
    killed while writing its final files)."""
    try:
        return json.loads((run_dir / "summary.json").read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def is_finished(run_dir: Path) -> bool:
    """A run whose final files were written: completed, or stopped by divergence."""
    return run_status(run_dir) in ("completed", "diverged")


def latest_unfinished_run(output_dir: str | Path, experiment: str) -> tuple[Path | None, int]:
    """(the most recently started run of an experiment that has a resume checkpoint and did
    not finish, how many runs there are)."""
    base = Path(output_dir) / experiment
    runs = [p for p in base.iterdir() if (p / "checkpoints" / "resume").is_dir()] \
        if base.is_dir() else []
    for run in sorted(runs, key=_started, reverse=True):
        if not is_finished(run):
            return run, len(runs)
    return None, len(runs)


def nothing_to_resume(output_dir: str | Path, experiment: str) -> str:
    """Why `--resume` finds no run to continue, and what to do instead."""
    base = Path(output_dir) / experiment
    runs = sorted((p for p in base.iterdir() if (p / "config.yaml").is_file()), key=_started,
                  reverse=True) if base.is_dir() else []
    if not runs:
        return f"there is no run of experiment {experiment!r} under {output_dir} yet."
    newest = runs[0]
    if not (newest / "checkpoints" / "resume").is_dir():
        return (f"the newest run, {newest}, has no resume checkpoint: it stopped during its "
                "first epoch (or was not trained here), so there is nothing to continue; "
                "start it again.")
    if is_finished(newest) and not (newest / "report.md").is_file():
        return (f"the newest run, {newest}, finished; only its report is missing (it was "
                f"stopped while writing it): python tools/report.py {newest}")
    return (f"every run with checkpoints has finished (the newest: {newest}). To train one "
            "longer, name it: -o Global.checkpoints=<run dir> -o Global.epochs=<more>.")


def read_metric_rows(path: str | Path) -> tuple[list[dict], int]:
    """(rows of a metrics.jsonl, how many lines could not be read): a line a crash cut
    short is left out, not an error."""
    path = Path(path)
    rows, torn = [], 0
    text = path.read_bytes().decode("utf-8", "replace") if path.exists() else ""
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            torn += line.strip() != ""
            continue
        if isinstance(row, dict) and isinstance(row.get("epoch"), int):
            rows.append(row)
        else:
            torn += 1
    return rows, torn


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
    handler = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("paddle_suite")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
