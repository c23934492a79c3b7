"""A run's report: learning curves, confusion matrix, per-class metrics and report.md."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..runs.rundir import read_metric_rows, run_config, write_json
from .curves import confusion_matrix, per_class_metrics
from .plots import learning_curves, save_confusion, worst_classes


def read_rows(run_dir: Path) -> list[dict]:
    """metrics.jsonl's rows (a line a crash cut short is left out)."""
    return read_metric_rows(Path(run_dir) / "metrics.jsonl")[0]


def key_hparams(cfg: dict) -> dict:
    """The hyper-parameters VisualDL's page shows, for titles and the report."""
    from .hparams import page_hparams
    try:
        return page_hparams(cfg)
    except (KeyError, TypeError, AttributeError):
        return {}


def write_report(run_dir: str | Path, probs: np.ndarray | None, labels: np.ndarray | None,
                 class_names: list[str], weights: str = "the final weights",
                 image_of=None) -> Path:
    """Write learning_curves.png, confusion_matrix.png, per_class.json/.csv, top_losses.png
    (when `image_of(i)` gives eval image i as stored) and report.md."""
    run_dir = Path(run_dir)
    rows, cfg = read_rows(run_dir), run_config(run_dir)
    name = f"{run_dir.parent.name}/{run_dir.name}"
    hparams = key_hparams(cfg)
    lines = [f"# Run report: {name}", "",
             "Config: [config.yaml](config.yaml) (every resolved value); key hyper-parameters: "
             + ", ".join(f"{k} `{v}`" for k, v in hparams.items()), ""]
    summary = {}
    summary_path = run_dir / "summary.json"
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except ValueError:
            summary = {}
        lines += ["| | |", "| --- | --- |"]
        for key in ("status", "stop_reason", "epochs_run", "best_metric", "best_value",
                    "best_epoch", "final_weights", "wall_seconds", "train_samples_per_second"):
            if key in summary:
                lines.append(f"| {key} | {summary[key]} |")
        for key, value in (summary.get("final_eval") or {}).items():
            lines.append(f"| final eval {key} | {value:.4f} |")
        lines.append("")
        diagnosis = summary.get("diagnosis")
        if diagnosis:
            lines += ["## Diagnosis", "", _diagnosis_text(diagnosis), ""]
    if rows:
        title = name + (" - " + ", ".join(f"{k}={v}" for k, v in list(hparams.items())[:5])
                        if hparams else "")
        classes = len(class_names) or (cfg.get("Arch") or {}).get("class_num")
        learning_curves(rows, run_dir / "learning_curves.png", title=title, classes=classes,
                        best_epoch=summary.get("best_epoch"))
        lines += ["## Learning curves", "", "![learning curves](learning_curves.png)", "",
                  "Per-epoch numbers: [metrics.jsonl](metrics.jsonl).", ""]
    if probs is not None and len(probs):
        lines += _per_class(run_dir, probs, labels, class_names, weights, image_of)
    lines += _more_pictures(run_dir)
    lines += ["Open every record of this run with `python tools/serve_visualdl.py --logdir "
              f"{run_dir}` (or the whole `logs/` folder to compare runs).", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _per_class(run_dir: Path, probs, labels, names, weights: str, image_of) -> list[str]:
    """confusion_matrix.png and .npz, per_class.json/.csv, and their report.md section: at
    1000 classes as at 10 (the pictures and tables are bounded; the files hold every class)."""
    matrix = confusion_matrix(labels, probs.argmax(axis=1), len(names))
    table = per_class_metrics(matrix, names)
    save_confusion(matrix, names, run_dir / "confusion_matrix.png")
    np.savez_compressed(run_dir / "confusion_matrix.npz", counts=matrix,
                        classes=np.asarray(names, dtype=str))
    write_json(run_dir / "per_class.json", {"weights": weights, "classes": table})
    with open(run_dir / "per_class.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    shown = worst_classes(table)
    lines = [f"## Per class (eval set, {weights})", "", "![confusion matrix](confusion_matrix.png)",
             ""]
    if len(shown) < len(table):
        lines += [f"The {len(shown)} classes with the lowest F1, of {len(table)}:", ""]
    lines += ["| class | precision | recall | F1 | support |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['class']} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} "
              f"| {r['support']} |" for r in shown]
    lines += ["", "Every class in [per_class.csv](per_class.csv) and [per_class.json](per_class.json) "
              "(recall is the class's accuracy); the counts in `confusion_matrix.npz` "
              "(`numpy.load(...)['counts']`, rows true, columns predicted).", ""]
    return lines + _mistakes(run_dir, probs, labels, matrix, names, image_of)


def confusion_counts(run_dir: Path) -> np.ndarray | None:
    """The eval confusion matrix the report wrote (None without one)."""
    try:
        with np.load(Path(run_dir) / "confusion_matrix.npz", allow_pickle=False) as data:
            return data["counts"]
    except (OSError, KeyError, ValueError):
        return None


def _mistakes(run_dir: Path, probs, labels, matrix, names, image_of) -> list[str]:
    """The most confused class pairs as a table, the top losses as a picture."""
    from .mistakes import most_confused, top_losses, top_losses_figure
    from .plots import save_figure
    lines = ["## Mistakes", ""]
    pairs = most_confused(matrix, names)
    if pairs:
        lines += ["Most confused (true → predicted):", "", "| true | predicted | count | share of "
                  "the true class |", "| --- | --- | --- | --- |"]
        lines += [f"| {p['true']} | {p['predicted']} | {p['count']} | {p['share']:.1%} |"
                  for p in pairs]
        lines.append("")
    if image_of is not None:
        items = top_losses(probs, labels)
        save_figure(top_losses_figure([image_of(i["index"]) for i in items], items, names),
                    run_dir / "top_losses.png")
        lines += ["![the eval images with the highest loss](top_losses.png)", ""]
    return lines if len(lines) > 2 else []


def _diagnosis_text(findings) -> str:
    """The diagnosis findings (training/diagnosis.py) as Markdown bullets."""
    items = findings if isinstance(findings, list) else [findings]
    return "\n".join("- " + (" - ".join(str(v) for v in item.values())
                              if isinstance(item, dict) else str(item)) for item in items)


def _more_pictures(run_dir: Path) -> list[str]:
    """Links to the other pictures a run wrote (filters, feature maps, saliency maps)."""
    lines = []
    if (run_dir / "filters.png").is_file():
        lines += ["## Weights and features", "", "![first-layer filters](filters.png)", ""]
        lines += [f"![{p.stem}]({p.relative_to(run_dir).as_posix()})"
                  for p in sorted((run_dir / "feature_maps").glob("*.png"))]
        lines.append("")
    saliency = sorted((run_dir / "saliency").glob("epoch-*")) if (run_dir / "saliency").is_dir() \
        else []
    if saliency:
        lines += ["## Saliency maps", ""] + [
            f"![{p.parent.name}/{p.stem}]({p.relative_to(run_dir).as_posix()})"
            for p in sorted(saliency[-1].glob("*.png"))] + [""]
    return lines
