"""Look at the data before training (what tools/check_data.py runs).

Every sample of the train and eval sets is read once: unreadable files, the mix of image
sizes and channel counts, class counts, exact duplicates (the same decoded pixels) within a
set and across train and eval (leakage), and duplicates whose labels disagree. With a
trained run, the samples the model most confidently assigns to another class are listed as
likely label errors. Pictures: class_counts.png, samples.png (a labelled row per class),
suspects.png; the findings in data_check.json.
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from ..rundir import create_run_dir, write_json
from . import _class_names, make_views
from .failures import describe

PER_CLASS = 8          # images per class in samples.png
MAX_CLASS_ROWS = 30    # classes drawn in samples.png


def _digest(image: np.ndarray) -> str:
    return hashlib.blake2b(str(image.shape).encode() + image.tobytes(), digest_size=16).hexdigest()


def where(view, i: int) -> str:
    """The sample's file (for file-based sets) and where it was listed."""
    source = view.source(i)
    paths = getattr(view.base, "paths", None)
    if paths is None:
        return source
    from ..imageio import display_path
    path = display_path(paths[int(view.indices[i])])
    return path if path == source else f"{path} ({source})"


def scan(view) -> dict:
    """Read every sample of a view as stored: unreadable ones, shapes, class counts, the
    digest of each readable sample and a few sample indices per class."""
    unreadable, shapes, digests = [], Counter(), {}
    examples = defaultdict(list)
    for i in range(len(view)):
        try:
            image = np.asarray(view.base[int(view.indices[i])][0])
        except Exception as exc:  # noqa: BLE001 - every failure kind is listed, not raised
            unreadable.append({"where": where(view, i), "problem": describe(exc, view.source(i))})
            continue
        shapes[image.shape if image.ndim == 3 else (*image.shape, 1)] += 1
        digests[i] = _digest(image)
        label = int(view.labels[i])
        if len(examples[label]) < PER_CLASS:
            examples[label].append(i)
    counts = Counter(int(l) for l in view.labels)
    return {"unreadable": unreadable, "shapes": shapes, "digests": digests,
            "counts": counts, "examples": examples}


def duplicates(views: dict, scans: dict) -> dict:
    """Groups of samples with identical pixels: within each set, across sets, and those
    whose labels disagree."""
    groups = defaultdict(list)
    for name, found in scans.items():
        for i, digest in found["digests"].items():
            groups[digest].append((name, i))
    within, across, conflicting = defaultdict(list), [], []
    for members in groups.values():
        if len(members) < 2:
            continue
        entries = [{"set": n, "where": where(views[n], i), "label": int(views[n].labels[i])}
                   for n, i in members]
        sets = {n for n, _ in members}
        for name in sets:
            if sum(n == name for n, _ in members) > 1:
                within[name].append([e for e in entries if e["set"] == name])
        if len(sets) > 1:
            across.append(entries)
        if len({e["label"] for e in entries}) > 1:
            conflicting.append(entries)
    return {"within": dict(within), "across": across, "conflicting_labels": conflicting}


def check_data(cfg, out_dir: str | Path | None = None, run_dir: str | Path | None = None,
               suspects: int = 16) -> dict:
    """Check the config's train and eval data; write the pictures and data_check.json into
    `out_dir` (default: a new `<output_dir>/<experiment>_data_check/<time>`); return the
    findings (`problems` counts what should be fixed before training)."""
    views = make_views(cfg)
    glob = cfg["Global"]
    out = Path(out_dir) if out_dir else create_run_dir(glob["output_dir"],
                                                       f"{glob['experiment']}_data_check")
    out.mkdir(parents=True, exist_ok=True)
    class_num = cfg["Arch"]["class_num"]
    names = _class_names(next(iter(views.values())), class_num, cfg["DataLoader"]["classes"])
    scans = {name: scan(view) for name, view in views.items()}
    dups = duplicates(views, scans)
    findings = {
        "sets": {name: {"samples": len(views[name]), "unreadable": s["unreadable"],
                        "shapes": {"x".join(map(str, k)): v for k, v in s["shapes"].most_common()},
                        "class_counts": {names[c] if c < len(names) else str(c): n
                                         for c, n in sorted(s["counts"].items())}}
                 for name, s in scans.items()},
        "duplicates": dups, "out_dir": str(out)}
    findings["problems"] = (sum(len(s["unreadable"]) for s in scans.values())
                            + len(dups["across"]) + len(dups["conflicting_labels"]))
    from .check_pictures import class_counts_figure, samples_figure
    from ..visual.plots import save_figure
    save_figure(class_counts_figure({n: s["counts"] for n, s in scans.items()}, names),
                out / "class_counts.png")
    first = "Train" if "Train" in views else next(iter(views))
    save_figure(samples_figure(views[first], scans[first]["examples"], names, MAX_CLASS_ROWS),
                out / "samples.png")
    if run_dir is not None:
        findings["suspects"] = likely_label_errors(views, run_dir, names, suspects, out)
    write_json(out / "data_check.json", findings)
    return findings


def likely_label_errors(views: dict, run_dir, names: list[str], limit: int, out: Path) -> list:
    """Samples a trained run predicts as another class with more than half its belief
    (probability > 0.5; label smoothing keeps a model's top probability near 1 - epsilon),
    by loss: the likeliest label errors. Draws suspects.png."""
    from .check_pictures import suspects_figure
    from ..visual.plots import save_figure
    from .predict import predict_views
    rows = []
    for name, (view, probs) in predict_views(views, run_dir).items():
        labels = np.asarray(view.labels)
        predicted = probs.argmax(axis=1)
        true_p = probs[np.arange(len(labels)), labels]
        for i in np.flatnonzero((predicted != labels) & (probs.max(axis=1) > 0.5)):
            rows.append({"set": name, "index": int(i), "where": where(view, int(i)),
                         "label": int(labels[i]), "predicted": int(predicted[i]),
                         "probability": float(probs[i, predicted[i]]),
                         "loss": float(-np.log(max(true_p[i], 1e-12)))})
    rows.sort(key=lambda r: -r["loss"])
    rows = rows[:limit]
    if rows:
        save_figure(suspects_figure(views, rows, names), out / "suspects.png")
    return rows
