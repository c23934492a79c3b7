"""Saliency maps: on the digit for a trained LeNet, working for 3-channel zoo models, the
CLI tool and its bad inputs, and the per-epoch callback."""
import os
import subprocess
import sys

import cv2
import numpy as np
import paddle
import pytest

from paddle_suite import load_config, train
from paddle_suite.data import build_data
from paddle_suite.interpret.saliency import METHODS, saliency
from paddle_suite.models import MODELS

from ..conftest import LENET, ROOT


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("sal")
    cfg = load_config(LENET, ["Global.epochs=2", f"Global.output_dir={out}",
                              "Callbacks.VisualDL=false", "DataLoader.Train.transforms=null"])
    result = train(cfg)
    return result, build_data(cfg, train=False), cfg


@pytest.mark.parametrize("method", list(METHODS))
def test_saliency_is_finite_and_mostly_on_the_digit(trained, method):
    result, data, _ = trained
    on_digit = 0
    for i in range(12):
        image, _ = data.eval[i]
        digit = data.eval.base.images[data.eval.indices[i]][:, :, 0] > 100
        sal, target, probs = saliency(method, result.model.network, image)
        assert sal.shape == (28, 28) and np.isfinite(sal).all() and sal.std() > 0
        on_digit += sal[digit].mean() > sal[~digit].mean()
    if method != "gradcam":  # Grad-CAM on LeNet's two small conv layers is too coarse
        assert on_digit >= 9, f"{method}: on the digit for only {on_digit}/12 images"


@pytest.mark.parametrize("method", ["gradient", "smoothgrad", "intgrad", "gradcam", "occlusion"])
def test_saliency_works_for_a_three_channel_zoo_model(method):
    paddle.seed(0)
    net = MODELS["ResNet18"](class_num=5, in_channels=3)
    image = np.random.default_rng(0).normal(size=(3, 64, 64)).astype("float32")
    sal, target, probs = saliency(method, net, image)
    assert sal.shape == (64, 64) and np.isfinite(sal).all() and sal.std() > 0
    assert 0 <= target < 5 and probs.sum() == pytest.approx(1.0, abs=1e-4)


def run_tool(*args):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "interpret.py"), *args],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_interpret_tool_writes_overlays_and_names_unreadable_images(trained, tmp_path):
    result, data, _ = trained
    images = tmp_path / "images"
    images.mkdir()
    for i in range(3):
        cv2.imwrite(str(images / f"digit{i}.png"), data.eval.base.images[data.eval.indices[i]])
    (images / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    proc = run_tool("-c", str(LENET), "-o", f"Global.pretrained_model={result.run_dir}",
                    "--method", "gradcam", "--images", str(images), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.glob("*.png")) == [f"digit{i}_gradcam.png" for i in range(3)]
    assert "broken.png" in proc.stderr and "vdlrecords.run.log" in os.listdir(out)


@pytest.mark.parametrize("args, message", [
    (["--method", "deeplift"], "'deeplift': unknown interpretation method. Methods: gradient"),
    (["--method", "gradcam", "--layer", "conv9"], "'conv9' is not a conv layer of this model. "
                                                  "Conv layers: features.0, features.3"),
])
def test_interpret_tool_bad_input(trained, tmp_path, args, message):
    result, data, _ = trained
    cv2.imwrite(str(tmp_path / "d.png"), data.eval.base.images[0])
    proc = run_tool("-c", str(LENET), "-o", f"Global.pretrained_model={result.run_dir}",
                    "--images", str(tmp_path / "d.png"), "--out", str(tmp_path / "o"), *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_saliency_callback_writes_maps_every_n_epochs(tmp_path):
    from ..conftest import tiny_overrides
    result = train(load_config(LENET, tiny_overrides(tmp_path, epochs=3, **{
        "Callbacks.Saliency": "{method: smoothgrad, every: 2, count: 3}"})))
    folders = sorted(p.name for p in (result.run_dir / "saliency").iterdir())
    assert folders == ["epoch-002", "epoch-003"]  # every 2 epochs, and after the last
    assert len(list((result.run_dir / "saliency" / "epoch-002").glob("*.png"))) == 3
