"""A run with many classes finishes with its whole report within a memory budget, and its
pictures stay bounded in pixels (bench/scale.py measures 1000 classes and larger sets)."""
import sys

import cv2
import numpy as np

from ..conftest import LENET, ROOT, run_with_peak

sys.path.insert(0, str(ROOT / "bench"))
from synthetic import write_folders  # noqa: E402

CLASSES = 300
BUDGET_GB = 1.2  # measured 0.67 GB at 1000 classes (BENCHMARKS.md, "Scale")


def test_a_300_class_run_writes_its_report_within_budget(tmp_path):
    write_folders(tmp_path / "data", CLASSES, per_class=6, eval_per_class=2)
    overrides = {"Global.output_dir": tmp_path / "logs", "Global.epochs": 1,
                 "Global.experiment": "many", "Arch.class_num": CLASSES,
                 "DataLoader.Train.dataset": f"{{name: ImageFolder, root: {tmp_path}/data/train}}",
                 "DataLoader.Eval.dataset": f"{{name: ImageFolder, root: {tmp_path}/data/eval}}"}
    code, out, peak = run_with_peak([sys.executable, ROOT / "tools" / "train.py", "-c", LENET,
                                     *[a for k, v in overrides.items() for a in ("-o", f"{k}={v}")]])
    assert code == 0, out[-3000:]
    assert peak < BUDGET_GB, f"peak {peak:.2f} GB"
    (run,) = (tmp_path / "logs" / "many").iterdir()
    for name in ("summary.json", "report.md", "per_class.csv", "confusion_matrix.npz",
                 "vdlrecords.run.log"):
        assert (run / name).is_file(), name
    with np.load(run / "confusion_matrix.npz") as saved:
        assert saved["counts"].shape == (CLASSES, CLASSES) and saved["counts"].sum() == 2 * CLASSES
    picture = cv2.imread(str(run / "confusion_matrix.png"))
    assert picture.shape[0] * picture.shape[1] <= 8_000_000
    report = (run / "report.md").read_text()
    assert f"The 30 classes with the lowest F1, of {CLASSES}" in report
    assert len((run / "per_class.csv").read_text().splitlines()) == CLASSES + 1
