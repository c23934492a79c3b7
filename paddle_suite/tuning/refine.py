"""Coarse-to-fine search: a wide, short stage; the ranges narrowed around its top trials; a
second stage; then the winner trained for the full budget."""
from __future__ import annotations

import copy
import math

from ..config.loader import load_config
from ..config.search_space import overrides_for
from ..lifecycle.engine import train


def narrow(space: dict, top_params: list[dict], margin: float = 0.25) -> dict:
    """Shrink each dimension to the span of the top trials' values, plus `margin` of that span
    on each side (in log space for log dimensions), clipped to the original range.
    Categorical and grid dimensions keep only the values the top trials used."""
    narrowed = {}
    for key, spec in space.items():
        values = [p[key] for p in top_params if key in p]
        spec = copy.deepcopy(spec)
        if not values:
            narrowed[key] = spec
            continue
        if spec["type"] in ("categorical", "grid"):
            field = "choices" if spec["type"] == "categorical" else "values"
            spec[field] = [v for v in spec[field] if v in values]
        else:
            log = spec["type"] == "loguniform" or spec["log"]
            scale = (math.log, math.exp) if log else (float, float)
            low, high = scale[0](min(values)), scale[0](max(values))
            pad = max((high - low) * margin, abs(high) * 0.05 if not log else 0.1)
            new_low = max(scale[1](low - pad), spec["low"])
            new_high = min(scale[1](high + pad), spec["high"])
            if spec["type"] == "int":
                new_low, new_high = int(math.floor(new_low)), int(math.ceil(new_high))
            spec["low"], spec["high"] = new_low, new_high
        narrowed[key] = spec
    return narrowed


def coarse_to_fine(search: dict, output_dir: str, top_k: int = 3, fine_trials: int | None = None,
                   final_epochs: int | None = None) -> dict:
    """Run the coarse study, a fine one around its top-k trials, then train the winner."""
    from .search import run_search
    coarse = run_search(search, output_dir)
    import optuna

    from .search import open_study
    study, _ = open_study(search, output_dir)
    done = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    top = sorted(done, key=lambda t: t.value, reverse=maximize)[:top_k]
    fine = copy.deepcopy(search)
    fine["space"] = narrow(search["space"], [t.params for t in top])
    fine["study"]["name"] = f"{search['study']['name']}_fine"
    fine["study"]["n_trials"] = fine_trials or search["study"]["n_trials"]
    if fine["study"]["sampler"] == "grid":
        fine["study"]["sampler"] = "tpe"
    fine_result = run_search(fine, output_dir)
    best = fine_result if fine_result.get("best_value") is not None and (
        coarse.get("best_value") is None or
        (fine_result["best_value"] > coarse["best_value"]) == maximize) else coarse
    overrides = search["overrides"] + [o for k, v in best["best_params"].items()
                                       for o in overrides_for(k, v)]
    if final_epochs:
        overrides.append(f"Global.epochs={final_epochs}")
    cfg = load_config(search["base"], overrides + [
        f"Global.experiment={search['study']['name']}_final", f"Global.output_dir={output_dir}"])
    final = train(cfg)
    return {"coarse": coarse, "fine": fine_result, "fine_space": fine["space"],
            "final_run": str(final.run_dir), "final_summary": final.summary}
