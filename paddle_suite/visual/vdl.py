"""VisualDL writing, with the workarounds for VisualDL 2.5.3 in this one module.

- `LogWriter.add_pr_curve` / `add_roc_curve` call `np.float`, removed in numpy 1.24, and
  the ROC computation divides TP by (TN + FP) instead of (TP + FN). We compute the curves
  ourselves (visual/curves.py, checked against scikit-learn) and write them with VisualDL's
  own raw-record builders (`pr_curve_raw`, `roc_curve_raw`).
- `add_hparams` raises a protobuf TypeError for boolean values: `write_hparams` writes them
  as the strings "true" / "false".
- `import visualdl` writes `~/.visualdl/conf/config.json`; it fails where HOME is not
  writable. `open_writer` points HOME at a temporary directory in that case.
"""
from __future__ import annotations

import os
import tempfile

from ..errors import UserError
from .curves import pr_from, roc_from


def _import_visualdl():
    home = os.path.expanduser("~")
    if not os.access(home, os.W_OK):
        os.environ["HOME"] = tempfile.mkdtemp(prefix="visualdl-home-")
    try:
        import visualdl
    except ImportError:
        raise UserError("VisualDL is not installed: pip install visualdl "
                        "(or set Callbacks.VisualDL: false).") from None
    return visualdl


LOG_FILE = "vdlrecords.run.log"  # VisualDL reads only the newest file of a directory


def open_writer(logdir, display_name: str = ""):
    """A `visualdl.LogWriter` appending to the run's single log file (so a resumed run keeps
    its earlier records visible); `display_name` is how VisualDL's run list shows the run."""
    return _import_visualdl().LogWriter(logdir=str(logdir), file_name=LOG_FILE,
                                        display_name=display_name)


def write_hparams(writer, hparams: dict, metric_tags: list[str]) -> None:
    """`add_hparams` with booleans as text (VisualDL cannot store a bool hyper-parameter)."""
    clean = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in hparams.items()}
    writer.add_hparams(clean, metric_tags)


def write_pr_curve(writer, tag: str, counts: dict, step: int):
    """Add a PR curve from `threshold_counts`/`micro_counts`, computed correctly on numpy 2
    (VisualDL's own call is broken)."""
    from visualdl.component.base_component import pr_curve_raw
    c = pr_from(counts)
    record = pr_curve_raw(tag, c["tp"].tolist(), c["fp"].tolist(), c["tn"].tolist(),
                          c["fn"].tolist(), c["precision"].tolist(), c["recall"].tolist(),
                          step, _walltime())
    writer._get_file_writer().add_record(record)  # no public raw-record method exists


def write_roc_curve(writer, tag: str, counts: dict, step: int):
    """Add a ROC curve with TPR = TP/(TP+FN) (VisualDL's own call is broken and wrong)."""
    from visualdl.component.base_component import roc_curve_raw
    c = roc_from(counts)
    record = roc_curve_raw(tag, c["tp"].tolist(), c["fp"].tolist(), c["tn"].tolist(),
                           c["fn"].tolist(), c["tpr"].tolist(), c["fpr"].tolist(), step,
                           _walltime())
    writer._get_file_writer().add_record(record)


def _walltime() -> int:
    import time
    return round(time.time() * 1000)
