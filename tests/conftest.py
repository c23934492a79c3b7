import logging
import os
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GLOG_minloglevel", "2")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import paddle  # noqa: F401,E402

from paddle_suite import load_config  # noqa: E402

LENET = ROOT / "configs" / "lenet.yaml"


def tiny_overrides(out_dir, epochs=1, **extra):
    """Overrides for a fast real run: digits 0 and 1 only (about 1,700 training images)."""
    items = {
        "Global.output_dir": str(out_dir), "Global.epochs": epochs, "Global.log_interval": 5,
        "DataLoader.classes": "[0, 1]", "Arch.class_num": 2, "Metric.topk": "[1]",
        "DataLoader.Train.batch_size": 128, "DataLoader.Eval.batch_size": 500,
        **extra,
    }
    return [f"{k}={v}" for k, v in items.items()]


@pytest.fixture
def tiny_cfg(tmp_path):
    def make(epochs=1, **extra):
        return load_config(LENET, tiny_overrides(tmp_path / "logs", epochs, **extra))
    return make


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    @property
    def text(self):
        return "\n".join(self.messages)


@pytest.fixture
def suite_log():
    """Records of the `paddle_suite` logger (which the CLI stops propagating to the root)."""
    logger = logging.getLogger("paddle_suite")
    handler, level = _Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
