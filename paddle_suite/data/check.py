"""Look at the data before training (what tools/check_data.py runs).

Every sample of the train and eval sets is read once: unreadable files, the mix of image
sizes and channel counts, class counts, exact duplicates (the same decoded pixels) within a
set and across train and eval (leakage), duplicates whose labels disagree, and the likely
mislabelled samples: those a model that did not see them confidently puts in another class
(data/label_issues.py: held-out predictions on pixel thumbnails, or on a trained run's
embeddings). Pictures: class_counts.png, samples.png (a labelled row per class),
label_issues.png; the findings in data_check.json.
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from ..runs.rundir import write_json
from . import _class_names, make_views
from .failures import describe
from .label_issues import find_label_issues, held_out_probabilities, thumbnail
from .sampling import sample_indices

PER_CLASS = 8          # images per class in samples.png
MAX_CLASS_ROWS = 30    # classes drawn in samples.png
MAX_LISTED = 1000      # likely mislabelled samples listed in data_check.json per set
LABEL_CHECK_MAX = 50_000  # samples per set the label check judges (stratified): 13 MB
LABEL_CHECK_CELLS = 20_000_000  # samples x classes of its probabilities: 80 MB


def _digest(image: np.ndarray) -> str:
    return hashlib.blake2b(str(image.shape).encode() + image.tobytes(), digest_size=16).hexdigest()


def where(view, i: int) -> str:
    """The sample's file (for file-based sets) and where it was listed."""
    source = view.source(i)
    paths = getattr(view.base, "paths", None)
    if paths is None:
        return source
    from .imageio import display_path
    path = display_path(paths[int(view.indices[i])])
    return path if path == source else f"{path} ({source})"


CHANNELS = {"1": 1, "L": 1, "I": 1, "F": 1, "I;16": 1, "LA": 2, "P": 3, "RGB": 3,
            "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4, "CMYK": 4}


def stored_shape(view, i: int, decoded: np.ndarray) -> tuple:
    """HxWxC as the file holds it (its header's size and colour mode), not as it was
    decoded for the model (a grey file read for an RGB model decodes to 3 channels); an
    in-memory data set's samples as they are."""
    paths = getattr(view.base, "paths", None)
    if paths is not None:
        from PIL import Image
        try:
            with Image.open(paths[int(view.indices[i])]) as image:
                width, height = image.size
                return height, width, CHANNELS.get(image.mode, len(image.getbands()))
        except Exception:  # noqa: BLE001 - the decoded shape is the best left
            pass
    return decoded.shape if decoded.ndim == 3 else (*decoded.shape, 1)


def _read_one(view, i: int):
    """(i, stored shape, digest, thumbnail) of sample i, or (i, None, the problem, None)
    when unreadable."""
    try:
        image = np.asarray(view.base[int(view.indices[i])][0])
    except Exception as exc:  # noqa: BLE001 - every failure kind is listed, not raised
        return i, None, {"where": where(view, i), "problem": describe(exc, view.source(i))}, None
    return i, stored_shape(view, i, image), _digest(image), thumbnail(image)


_FORKED_VIEW = None  # the view a forked reader process reads (inherited, never pickled)


def _read_chunk(indices: list[int]) -> list:
    return [_read_one(_FORKED_VIEW, i) for i in indices]


def _read_all(view, indices: np.ndarray, workers: int, name: str):
    """Each sample read once, by `workers` forked processes, with a progress bar on a
    terminal."""
    global _FORKED_VIEW
    from tqdm import tqdm
    chunks = [indices[k:k + 256].tolist() for k in range(0, len(indices), 256)]
    bar = tqdm(total=len(indices), desc=f"reading {name}", unit="img", disable=None, leave=False)
    if workers <= 1 or len(chunks) < 2:
        for chunk in chunks:
            yield from (_read_one(view, i) for i in chunk)
            bar.update(len(chunk))
        bar.close()
        return
    import multiprocessing
    _FORKED_VIEW = view
    pool = multiprocessing.get_context("fork").Pool(workers)
    try:
        for rows in pool.imap(_read_chunk, chunks):
            yield from rows
            bar.update(len(rows))
        pool.close()  # the readers end by themselves: paddle prints a C++ report on SIGTERM
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
        _FORKED_VIEW = None
        bar.close()


def label_check_size(classes: int) -> int:
    """How many samples of a set the label check judges: LABEL_CHECK_MAX, fewer with many
    classes so that its probabilities stay within LABEL_CHECK_CELLS (20,000 at 1,000)."""
    return min(LABEL_CHECK_MAX, LABEL_CHECK_CELLS // max(int(classes), 1))


def scan(view, sample: int | None = None, workers: int = 1, name: str = "") -> dict:
    """Read the samples of a view as stored (all, or a stratified `sample` of them):
    unreadable ones, shapes, the digest of each readable sample, a few sample indices per
    class and the thumbnails of up to `label_check_size` of them (stratified) for the
    label check; class counts are always over the whole view."""
    unreadable, shapes, digests, thumbnails = [], Counter(), {}, {}
    examples = defaultdict(list)
    chosen = sample_indices(view.labels, sample)
    labels = np.asarray(view.labels)
    judged = set(chosen[sample_indices(labels[chosen], label_check_size(len(np.unique(labels))))])
    for i, shape, found, small in _read_all(view, chosen, workers, name):
        if shape is None:
            unreadable.append(found)
            continue
        shapes[shape] += 1
        digests[i] = found
        if i in judged:
            thumbnails[i] = small
        label = int(view.labels[i])
        if len(examples[label]) < PER_CLASS:
            examples[label].append(i)
    counts = Counter(np.asarray(view.labels).tolist())
    return {"unreadable": unreadable, "shapes": shapes, "digests": digests,
            "counts": counts, "examples": examples, "thumbnails": thumbnails}


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


def check_data(spec, out_dir: str | Path, embed=None,
               suspects: int = 16, sample: int | None = None, workers: int = 1) -> dict:
    """Check the train and eval data of `spec` (a `DataSpec`); write the pictures and
    data_check.json into `out_dir`; return the findings (`problems` counts what should be
    fixed before training). `sample` reads only that many samples of each set (stratified,
    seeded); `workers` processes read them. The likely mislabelled samples come from
    held-out predictions on pixel thumbnails, or on the features `embed(views, indices)`
    returns for the judged samples ({set name: [len(indices[name]), D]}, e.g. a trained
    run's embeddings: `lifecycle.predictions.embed_views`); `suspects` of them are drawn."""
    views = make_views(spec)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    class_num = spec.class_num
    names = _class_names(next(iter(views.values())), class_num, spec.loaders["classes"])
    scans = {name: scan(view, sample, workers, name) for name, view in views.items()}
    dups = duplicates(views, scans)
    findings = {
        "sets": {name: {"samples": len(views[name]), "unreadable": s["unreadable"],
                        "shapes": {"x".join(map(str, k)): v for k, v in s["shapes"].most_common()},
                        "class_counts": {names[c] if c < len(names) else str(c): n
                                         for c, n in sorted(s["counts"].items())}}
                 for name, s in scans.items()},
        "duplicates": dups, "out_dir": str(out),
        "samples_read": {name: len(s["digests"]) + len(s["unreadable"])
                         for name, s in scans.items()}}
    findings["problems"] = (sum(len(s["unreadable"]) for s in scans.values())
                            + len(dups["across"]) + len(dups["conflicting_labels"]))
    judged = {name: np.array(sorted(s["thumbnails"]), dtype=int) for name, s in scans.items()}
    embedded = embed(views, judged) if embed is not None else None
    findings["label_issues"] = {
        name: label_issues(views[name], judged[name], scans[name]["thumbnails"], class_num,
                           spec.seed, None if embedded is None else embedded[name])
        for name in views}
    _draw(views, scans, findings, names, suspects, out)
    write_json(out / "data_check.json", findings)
    return findings


def label_issues(view, indices: np.ndarray, thumbnails: dict, class_num: int, seed,
                 embedded=None) -> dict:
    """The likely mislabelled samples among `indices` of one set, from held-out predictions
    on their `thumbnails` (or on `embedded` features [len(indices), D])."""
    if len(indices) == 0:
        return {"checked": 0, "count": 0, "likely_mislabelled": [], "hard": 0}
    features = (np.stack([thumbnails[i] for i in indices]).astype(np.float32) / 255
                if embedded is None else np.asarray(embedded, dtype=np.float32))
    labels = np.asarray(view.labels)[indices]
    probs = held_out_probabilities(features, labels, class_num, seed or 0)
    found = find_label_issues(probs, labels)
    rows = [{"index": int(indices[k]), "where": where(view, int(indices[k])),
             "label": int(labels[k]), "suggested": int(c), "probability": float(probs[k, c]),
             "margin": round(float(m), 4)}
            for k, c, m in zip(found["issues"][:MAX_LISTED], found["suggested"], found["margin"])]
    return {"checked": len(indices), "count": len(found["issues"]),
            "features": "pixel thumbnails" if embedded is None else "embeddings",
            "likely_mislabelled": rows, "hard": len(found["hard"])}


def _draw(views, scans, findings, names, suspects: int, out: Path) -> None:
    from ..visual.plots import save_figure
    from .check_pictures import class_counts_figure, samples_figure, suspects_figure
    save_figure(class_counts_figure({n: s["counts"] for n, s in scans.items()}, names),
                out / "class_counts.png")
    first = "Train" if "Train" in views else next(iter(views))
    save_figure(samples_figure(views[first], scans[first]["examples"], names, MAX_CLASS_ROWS),
                out / "samples.png")
    rows = sorted(({"set": name, **row} for name, found in findings["label_issues"].items()
                   for row in found["likely_mislabelled"]), key=lambda r: -r["margin"])
    if rows and suspects > 0:
        save_figure(suspects_figure(views, rows[:suspects], names), out / "label_issues.png")
