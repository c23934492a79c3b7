"""One config trained once per seed, as a group: `Global.seeds: [1, 2, 3]` (or `-o
Global.seeds=[1,2,3]`) makes `tools/train.py` train `<output_dir>/<experiment>/<group>/
seed-<s>/` for each seed in turn and write `<group>/group.json` with each seed's final and
best value, their mean and spread. `tools/compare.py <group> <other group>` then pairs the
runs by seed.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from ..runs.rundir import write_json
from ..training.metrics import metric_label, shown_value

log = logging.getLogger("paddle_suite")


def seed_overrides(cfg: dict, seed: int, group: str) -> list[str]:
    """The overrides that make one seed's run of the group."""
    glob = cfg["Global"]
    return [f"Global.seed={seed}", "Global.seeds=null", f"Global.run_name=seed-{seed}",
            f"Global.output_dir={Path(glob['output_dir']) / glob['experiment']}",
            f"Global.experiment={group}"]


def group_name(cfg: dict) -> str:
    """The group's folder: its run name, else the start time."""
    return cfg["Global"]["run_name"] or time.strftime("%Y%m%d-%H%M%S") + "-seeds"


def group_summary(results: dict, metric: str) -> dict:
    """{seeds, final, best, mean, std, min, max} of the runs' final values of `metric`."""
    finals = {seed: (r.summary.get("final_eval") or {}).get(metric) for seed, r in
              results.items()}
    values = np.array([v for v in finals.values() if v is not None], dtype=float)
    return {"metric": metric, "seeds": list(results), "final": finals,
            "best": {seed: r.summary.get("best_value") for seed, r in results.items()},
            "runs": {seed: str(r.run_dir) for seed, r in results.items()},
            "mean": float(values.mean()) if len(values) else None,
            "std": float(values.std(ddof=1)) if len(values) > 1 else None,
            "min": float(values.min()) if len(values) else None,
            "max": float(values.max()) if len(values) else None}


def train_seeds(load, overrides: list[str], cfg: dict, callbacks_for=None,
                keep_going=None) -> tuple[Path, dict, dict]:
    """Train the config once per `Global.seeds` (`load(overrides)` gives each run's config);
    return the group folder, its summary (also written as group.json) and {seed: result}.

    A search trial scored over seeds is such a group: `callbacks_for(i)` gives the i-th
    run's extra callbacks (the pruner watches the first), and `keep_going(result)` False
    ends the group early (a pruned trial trains no more seeds)."""
    from .engine import train
    group = group_name(cfg)
    results = {}
    for i, seed in enumerate(cfg["Global"]["seeds"]):
        log.info("group %s: seed %d", group, seed)
        result = train(load(overrides + seed_overrides(cfg, seed, group)),
                       callbacks=callbacks_for(i) if callbacks_for else ())
        results[seed] = result
        if keep_going and not keep_going(result):
            break
    folder = Path(cfg["Global"]["output_dir"]) / cfg["Global"]["experiment"] / group
    summary = group_summary(results, (cfg["Callbacks"].get("Checkpoint") or {})
                            .get("monitor", "acc"))
    write_json(folder / "group.json", summary)
    return folder, summary, results


def group_outcome(folder: Path, summary: dict) -> str:
    """The group's result in one line of words."""
    metric, mean = summary["metric"], summary["mean"]
    if mean is None:
        return f"group {folder}: no final evaluation of {metric}"
    return (f"group {folder}: final {metric_label(metric)} {shown_value(metric, mean)} on "
            f"average ({shown_value(metric, summary['min'])} to "
            f"{shown_value(metric, summary['max'])}) over {len(summary['seeds'])} seeds")
