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
from paddle_suite.config.sections import data_spec
from paddle_suite.data import build_data
from paddle_suite.models import MODELS
from paddle_suite.visual.saliency import METHODS, saliency

from ..conftest import LENET, ROOT


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("sal")
    cfg = load_config(LENET, ["Global.epochs=2", f"Global.output_dir={out}",
                              "Callbacks.VisualDL=false",  # no augmentation, eval's transforms:
                              "DataLoader.Train.transforms=[{ToCHW: {}}, "
                              "{Normalize: {mean: [0.5], std: [0.5]}}]"])
    result = train(cfg)
    return result, build_data(data_spec(cfg), train=False), cfg


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
    # a map drawn during training must not leave gradients for the next update to apply
    assert all(p.grad is None or not p.grad.numpy().any()  # hapi zeroes them after an update
               for p in result.model.network.parameters()), method


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
    plain = train(load_config(LENET, tiny_overrides(tmp_path, epochs=3)))
    # drawing the maps leaves training as it was: the same losses as a run without them
    assert [r["train_loss"] for r in result.history] == [r["train_loss"] for r in plain.history]


def test_interpret_tool_writes_a_readable_figure(trained, tmp_path):
    """The picture people look at: enlarged, with the map's colour scale and the prediction."""
    result, data, _ = trained
    cv2.imwrite(str(tmp_path / "d.png"), data.eval.base.images[data.eval.indices[0]])
    proc = run_tool("-c", str(LENET), "-o", f"Global.pretrained_model={result.run_dir}",
                    "--images", str(tmp_path / "d.png"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    picture = cv2.imread(str(tmp_path / "o" / "d_smoothgrad.png"))
    assert picture.shape[0] >= 300 and picture.shape[1] >= 900  # not a 28x28 thumbnail
    assert "(class " in proc.stdout and "p=" in proc.stdout


def test_saliency_figure_names_the_prediction_and_has_a_colour_scale(trained):
    from paddle_suite.visual.pictures import prediction_text, saliency_figure
    from paddle_suite.visual.plots import pyplot
    from paddle_suite.visual.saliency import overlay
    result, data, _ = trained
    image, label = data.eval[0]
    sal, _, probs = saliency("occlusion", result.model.network, image)
    text = prediction_text([str(i) for i in range(10)], probs, true=(int(probs.argmax()) + 1) % 10)
    fig = saliency_figure(image, sal, overlay(image, sal), "occlusion", text)
    assert fig._suptitle.get_text().startswith(f"occlusion: predicted {int(probs.argmax())} (p=")
    assert ", true " in fig._suptitle.get_text()  # a wrong prediction says what it should be
    colour_bars = [ax for ax in fig.axes if ax.get_ylabel() == "relative importance"]
    assert len(colour_bars) == 1 and colour_bars[0].get_ylim() == (0.0, 1.0)
    pyplot().close(fig)


def _rank_agreement(method, net, images, other_seed=False):
    """Spearman's rank correlation of the suite's map with InterpretDL's (or, with
    `other_seed`, with the suite's own map from another noise draw), per image."""
    from scipy.stats import spearmanr

    from paddle_suite.interpret.interpretdl_backend import interpretdl_saliency
    scores = []
    for image in images:
        ours, target, _ = saliency(method, net, image, seed=0)
        if other_seed:
            theirs, _, _ = saliency(method, net, image, seed=1)
        else:
            theirs, their_target, _ = interpretdl_saliency(method, net, image, seed=1)
            assert their_target == target
        scores.append(spearmanr(ours.ravel(), theirs.ravel())[0])
    return np.array(scores)


def test_interpretdl_agrees_with_the_suites_maps(trained):
    """SmoothGrad and Occlusion from InterpretDL and from the suite, on a LeNet and 8 eval
    digits. Occlusion is deterministic: the maps differ only at the borders (InterpretDL sums
    the drops where the suite averages them), so the rank correlation must be high (0.98
    mean measured). SmoothGrad is random: InterpretDL must agree with the suite about as
    well as the suite agrees with itself under another noise draw (0.79 mean measured for
    both), so the bar is 85% of that self-agreement."""
    pytest.importorskip("interpretdl", reason="InterpretDL is optional: "
                        "pip install --no-deps interpretdl==0.8.0 && pip install scikit-image "
                        "'ipython<9' tqdm")
    result, data, _ = trained
    net = result.model.network
    images = [data.eval[i][0] for i in range(8)]
    occlusion = _rank_agreement("occlusion", net, images)
    assert occlusion.mean() >= 0.9 and occlusion.min() >= 0.75, occlusion
    cross = _rank_agreement("smoothgrad", net, images)
    itself = _rank_agreement("smoothgrad", net, images, other_seed=True)
    assert cross.mean() >= 0.85 * itself.mean(), (cross, itself)


def test_interpretdl_backend_explains_a_grey_model_through_the_tool(trained, tmp_path):
    pytest.importorskip("interpretdl", reason="InterpretDL is optional")
    result, data, _ = trained
    cv2.imwrite(str(tmp_path / "d.png"), data.eval.base.images[data.eval.indices[0]])
    proc = run_tool("-c", str(LENET), "-o", f"Global.pretrained_model={result.run_dir}",
                    "--images", str(tmp_path / "d.png"), "--out", str(tmp_path / "o"),
                    "--backend", "interpretdl", "--method", "occlusion")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o" / "d_occlusion.png").is_file()
    proc = run_tool("-c", str(LENET), "-o", f"Global.pretrained_model={result.run_dir}",
                    "--images", str(tmp_path / "d.png"), "--out", str(tmp_path / "o"),
                    "--backend", "interpretdl", "--method", "gradcam")
    assert proc.returncode == 2 and "smoothgrad, occlusion, scorecam" in proc.stderr


def test_interpretdl_backend_names_the_install_command_when_missing(monkeypatch):
    from paddle_suite.errors import UserError
    from paddle_suite.interpret.interpretdl_backend import backend_for
    monkeypatch.setitem(sys.modules, "interpretdl", None)  # as if it were not installed
    with pytest.raises(UserError, match="pip install --no-deps interpretdl==0.8.0"):
        backend_for("interpretdl")
