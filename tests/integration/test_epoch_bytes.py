"""bench/epoch_bytes.py: one checkpoint write per epoch, measured as a user would."""
import re
import subprocess
import sys

import paddle

from ..conftest import ROOT


def test_an_epoch_writes_the_weights_and_optimizer_state_once():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "epoch_bytes.py"),
                           "-o", "Callbacks.VisualDL=false"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    per_epoch = int(re.search(r"per epoch ([\d,]+) bytes", proc.stdout)[1].replace(",", ""))
    weights = 4 * sum(p.size for p in paddle.vision.models.LeNet(num_classes=2).parameters())
    # the resume checkpoint (weights + Adam's two moments) and best.pdparams: ~4x the weights;
    # a second copy of the last state (last.pdparams/.pdopt) would make it ~7x
    assert 3 * weights < per_epoch < 5.5 * weights, (per_epoch, weights)
