"""PaddleClas's own networks, rebuilt by the suite under PaddleClas's names: the state dict
that `ppcls` (in PaddleClas's environment, .ci/consumers.sh) saves loads with no tensor
missing or unexpected, and the logits agree within 1e-5."""
import subprocess

import numpy as np
import paddle
import pytest

from paddle_suite.models import build_model
from paddle_suite.models.mobilenet_v3 import MOBILENET_V3
from paddle_suite.models.pphgnet_v2 import PPHGNETV2
from paddle_suite.models.pplcnet import PPLCNETS
from paddle_suite.models.resnet_vd import RESNET_VD
from paddle_suite.runs.checkpoint import load_weights

from ..conftest import ROOT
from .test_deploy_consumers import consumer_python

# ppcls's builders by name ("PPLCNet" itself is the class behind the widths, not one of them)
NAMES = sorted(n for n in PPLCNETS if n != "PPLCNet") + \
    sorted(n for n in RESNET_VD if n != "ResNet200_vd") + sorted(PPHGNETV2) + \
    sorted(MOBILENET_V3)


@pytest.fixture(scope="module")
def dumped(tmp_path_factory):
    python = consumer_python("PADDLE_SUITE_PADDLECLAS_PYTHON")
    out = tmp_path_factory.mktemp("ppcls")
    proc = subprocess.run([python, str(ROOT / "tests" / "consumers" / "paddleclas_networks.py"),
                           str(out), *NAMES], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("name", NAMES)
def test_paddleclas_weights_load_whole_and_give_the_same_logits(dumped, name):
    theirs = load_weights(dumped / f"{name}.pdparams")
    net = build_model({"name": name, "class_num": 10, "in_channels": 3})
    ours = net.state_dict()
    assert sorted(set(ours) - set(theirs)) == [] and sorted(set(theirs) - set(ours)) == []
    assert all(list(ours[k].shape) == list(theirs[k].shape) for k in ours)
    net.set_state_dict(theirs)
    net.eval()
    data = np.load(dumped / f"{name}.npz")
    logits = net(paddle.to_tensor(data["x"])).numpy()
    np.testing.assert_allclose(logits, data["logits"], atol=1e-5, rtol=1e-5)
