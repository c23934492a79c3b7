"""Is run B better than run A? Runs and groups of runs compared as a careful person would:
the config keys that differ, the headline metric with its spread over seeds, a verdict per
pair judged against that spread, and the learning curves overlaid.

A *group* is the runs of one config that differ only in `Global.seed` (a folder of run
directories, or the runs given one by one). The statistics (`verdict`):

- runs of two groups with the same seeds are *paired* (seed 1 with seed 1...): the
  difference's mean, and a 95% t-interval from the paired differences (n - 1 degrees of
  freedom), which removes what the seed does to both;
- otherwise Welch's t-interval on the two means;
- "better" / "worse" when the 95% interval leaves out 0; "likely better" / "likely worse"
  when the one-sided probability of the sign is at least 90%; else "within seed noise".
  With one run per side there is no spread to judge against, and the verdict says so.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..runs.rundir import read_metric_rows, run_config
from ..training.metrics import shown_value

IGNORED = ("Global.seed", "Global.output_dir", "Global.experiment", "Global.run_name",
           "Global.checkpoints", "Global.pretrained_model", "Global.log_interval",
           "Global.device", "Callbacks.VisualDL", "Report")


@dataclass
class Group:
    """Runs of one config (differing only in the seed)."""

    label: str
    runs: list[Path]
    configs: list[dict] = field(default_factory=list)
    finals: dict = field(default_factory=dict)  # seed -> final value of the metric

    @property
    def values(self) -> np.ndarray:
        return np.array(list(self.finals.values()), dtype=float)


def is_run(path: Path) -> bool:
    return (path / "config.yaml").is_file() and (path / "summary.json").is_file()


def load_group(path: str | Path, metric: str = "acc") -> Group:
    """A run directory, or a folder of finished run directories, as a Group."""
    path = Path(path)
    runs = [path] if is_run(path) else sorted(p for p in path.iterdir() if is_run(p)) \
        if path.is_dir() else []
    if not runs:
        raise ValueError(f"{path}: neither a finished run directory nor a folder of them")
    group = Group(label=str(path), runs=runs)
    for run in runs:
        cfg = run_config(run)
        summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        value = (summary.get("final_eval") or {}).get(metric)
        if value is None:
            raise ValueError(f"{run}: its summary.json has no final eval {metric!r}")
        seed = (cfg.get("Global") or {}).get("seed")
        group.configs.append(cfg)
        group.finals[seed if seed not in group.finals else f"{seed}-{len(group.finals)}"] = \
            float(value)
    return group


def flatten(cfg, prefix: str = "") -> dict:
    """{dotted key: value} of a nested config."""
    if not isinstance(cfg, dict):
        return {prefix: cfg}
    out = {}
    for key, value in cfg.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def differing_keys(groups: list[Group]) -> dict:
    """{dotted key: [value in each group]} for the config keys that differ between groups
    (seeds, paths and logging left out); a key that varies inside a group shows 'varies'."""
    per_group = []
    for group in groups:
        flat = [flatten(c) for c in group.configs]
        keys = set().union(*flat)
        per_group.append({k: (flat[0].get(k) if all(f.get(k) == flat[0].get(k) for f in flat)
                              else "varies") for k in keys})
    keys = sorted(set().union(*per_group))
    return {k: [g.get(k) for g in per_group] for k in keys
            if not k.startswith(IGNORED) and len({json.dumps(g.get(k), default=str)
                                                  for g in per_group}) > 1}


@dataclass
class Verdict:
    difference: float          # B - A, in the metric's units
    low: float | None          # the 95% interval (None: no spread to judge against)
    high: float | None
    n: int
    paired: bool
    p_positive: float | None   # one-sided probability that B - A > 0
    words: str


def verdict(a: Group, b: Group) -> Verdict:
    """B - A with its 95% interval and the words for it (see the module docstring)."""
    from scipy import stats
    shared = [s for s in a.finals if s in b.finals]
    if len(shared) >= 2:
        d = np.array([b.finals[s] - a.finals[s] for s in shared])
        n, mean, se, dof = len(d), float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d))), \
            len(d) - 1
        paired = True
    elif len(a.values) >= 2 and len(b.values) >= 2:
        va, vb = a.values.var(ddof=1) / len(a.values), b.values.var(ddof=1) / len(b.values)
        mean, se, paired = float(b.values.mean() - a.values.mean()), math.sqrt(va + vb), False
        dof = (va + vb) ** 2 / (va ** 2 / (len(a.values) - 1) + vb ** 2 / (len(b.values) - 1)) \
            if va + vb > 0 else 1
        n = min(len(a.values), len(b.values))
    else:
        mean = float(b.values.mean() - a.values.mean())
        return Verdict(mean, None, None, 1, False, None,
                       "one run per side: no seed spread to judge the difference against; "
                       "train each with more seeds")
    if se == 0:
        p = 1.0 if mean > 0 else 0.0 if mean < 0 else 0.5
        low = high = mean
    else:
        half = float(stats.t.ppf(0.975, dof)) * se
        low, high, p = mean - half, mean + half, float(stats.t.cdf(mean / se, dof))
    return Verdict(mean, low, high, n, paired, p, _words(low, high, p))


def _words(low: float, high: float, p: float) -> str:
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    if p >= 0.9:
        return "likely better (the 95% interval still holds 0)"
    if p <= 0.1:
        return "likely worse (the 95% interval still holds 0)"
    return "within seed noise"


def curves(group: Group, key: str = "eval_acc") -> list[tuple[list, list]]:
    """(epochs, values) of `key` in each run's metrics.jsonl."""
    out = []
    for run in group.runs:
        rows, _ = read_metric_rows(run / "metrics.jsonl")
        points = [(r["epoch"], r[key]) for r in rows if r.get(key) is not None]
        out.append(([e for e, _ in points], [v for _, v in points]))
    return out


def _points(value: float, metric: str) -> str:
    return f"{100 * value:+.2f} points" if "acc" in metric else f"{value:+.4g}"


def describe(a: Group, b: Group, v: Verdict, metric: str) -> str:
    """One line: 'B - A = +0.31 points (95% CI ...) over 6 paired seeds: likely better'."""
    if v.low is None:
        return f"{b.label} - {a.label} = {_points(v.difference, metric)}: {v.words}"
    how = f"{v.n} paired seeds" if v.paired else f"{v.n}+ runs each, unpaired (Welch)"
    return (f"{b.label} - {a.label} = {_points(v.difference, metric)} (95% interval "
            f"{_points(v.low, metric)} to {_points(v.high, metric)}, P(B > A) {v.p_positive:.2f}) "
            f"over {how}: {v.words}")


def write_comparison(groups: list[Group], out: Path, metric: str = "acc") -> dict:
    """compare.md (differing keys, the metric per group with its spread, a verdict for
    every group against the first) and compare.png (eval curves overlaid); returns them."""
    out.mkdir(parents=True, exist_ok=True)
    first = groups[0]
    lines = ["# Comparison", "", "## Config keys that differ", ""]
    keys = differing_keys(groups)
    lines += ["| key | " + " | ".join(g.label for g in groups) + " |",
              "| --- |" + " --- |" * len(groups)]
    lines += [f"| {k} | " + " | ".join(str(v) for v in values) + " |"
              for k, values in keys.items()] or ["| (none) |" + " |" * len(groups)]
    lines += ["", f"## Final {metric}", "", "| group | runs | mean | std | each seed |",
              "| --- | --- | --- | --- | --- |"]
    for g in groups:
        std = f"{100 * g.values.std(ddof=1):.2f}" if len(g.values) > 1 else "n/a"
        each = ", ".join(f"{s}: {shown_value(metric, v)}" for s, v in g.finals.items())
        lines.append(f"| {g.label} | {len(g.values)} | {shown_value(metric, g.values.mean())} | "
                     f"{std} | {each} |")
    verdicts = [describe(first, g, verdict(first, g), metric) for g in groups[1:]]
    lines += ["", "## Verdicts (each against the first)", "", *[f"- {v}" for v in verdicts],
              "", "![eval curves](compare.png)", ""]
    (out / "compare.md").write_text("\n".join(lines), encoding="utf-8")
    _plot(groups, out / "compare.png", metric)
    return {"differing": keys, "verdicts": verdicts, "report": str(out / "compare.md")}


def _plot(groups: list[Group], path: Path, metric: str) -> None:
    from ..visual.plots import pyplot, save_figure
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, group in enumerate(groups):
        for j, (epochs, values) in enumerate(curves(group, f"eval_{metric}")):
            ax.plot(epochs, values, color=colours[i % len(colours)], alpha=0.7,
                    label=group.label if j == 0 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"eval {metric}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("each run of each group (one colour per group)")
    save_figure(fig, path)


__all__ = ["Group", "Verdict", "load_group", "differing_keys", "verdict", "curves",
           "describe", "write_comparison"]
