"""Export round trip on a tiny trained model: export, verify, infer on real PNG files."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import paddle
import pytest

from paddle_suite import UserError, load_config, train
from paddle_suite.data.datasets import mnist10k
from paddle_suite.deploy.export import PADDLE_SAVE_NOISE, export_model
from paddle_suite.deploy.predictor import infer_images
from paddle_suite.models import LeNet, build_model
from paddle_suite.runs.checkpoint import load_into, load_weights

from ..conftest import LENET, ROOT, tiny_overrides


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    return train(load_config(LENET, tiny_overrides(out, epochs=1, **{"Callbacks.VisualDL": "false"})))


def cfg_for(run, *more):
    return load_config(LENET, tiny_overrides(run.run_dir.parent.parent, epochs=1)
                       + [f"Global.pretrained_model={run.run_dir}", *more])


def digit_pngs(folder, count=12):
    """Real MNIST test digits of the classes 0 and 1, written as PNG files."""
    digits = mnist10k("test")
    folder.mkdir(parents=True, exist_ok=True)
    chosen = np.flatnonzero(digits.labels <= 1)[:count]
    paths = []
    for i in chosen:
        path = folder / f"{i:04d}.png"
        cv2.imwrite(str(path), digits.images[i])
        paths.append(path)
    return paths, digits.images[chosen]


def test_export_verifies_and_infer_matches_the_dygraph_model(run, tmp_path):
    report = export_model(cfg_for(run), str(tmp_path / "model"))
    assert [r["runtime"] for r in report["checks"]] == [
        "paddle.inference", "paddle.inference (legacy .pdmodel)", "paddle.jit.load"]
    assert all(r["ok"] and r["max_abs_diff"] <= 1e-4 for r in report["checks"])
    for name in ("inference.json", "inference.pdmodel", "inference.pdiparams", "inference.yml",
                 "inference_cls.yaml", "weights.safetensors"):
        assert (tmp_path / "model" / name).is_file(), name
    paths, raw = digit_pngs(tmp_path / "pngs")
    predictions = infer_images(tmp_path / "model", paths, batch_size=5)
    assert len(predictions["results"]) == len(paths) and not predictions["failed"]
    net = build_model(cfg_for(run)["Arch"])  # the network the run trained
    load_into(net, run.run_dir / "checkpoints" / "final.pdparams")
    net.eval()
    x = ((raw.astype("float32") / 255.0 - 0.5) / 0.5).transpose(0, 3, 1, 2)
    expected = paddle.nn.functional.softmax(net(paddle.to_tensor(x))).numpy()
    # the export takes RGB (the grey model's in-graph adapter) and ends in a softmax
    got = [r["topk"][0]["class_id"] for r in predictions["results"]]
    assert got == expected.argmax(1).tolist()
    scores = [r["topk"][0]["score"] for r in predictions["results"]]
    assert np.allclose(scores, expected.max(1), atol=1e-5)
    shared = load_weights(tmp_path / "model" / "weights.safetensors")
    assert set(shared) == set(net.state_dict())


def test_grey_model_exported_as_is_and_legacy_program_alone(run, tmp_path):
    report = export_model(cfg_for(run, "Infer.rgb_input=false", "Infer.softmax=false"),
                          str(tmp_path / "grey"), legacy=False)
    assert not (tmp_path / "grey" / "inference.pdmodel").exists()
    assert [r["runtime"] for r in report["checks"]] == ["paddle.inference", "paddle.jit.load"]
    import yaml
    spec = yaml.safe_load((tmp_path / "grey" / "inference.yml").read_text())
    assert spec["Global"]["input_shape"] == [1, 28, 28] and spec["Global"]["output"] == "logits"
    normalize = spec["PreProcess"]["transform_ops"][1]["NormalizeImage"]
    assert normalize["channel_num"] == 1 and normalize["mean"] == [0.5]
    paths, _ = digit_pngs(tmp_path / "pngs", 3)
    (tmp_path / "grey" / "inference.json").unlink()   # the legacy program on its own
    export_model(cfg_for(run), str(tmp_path / "legacy"))
    (tmp_path / "legacy" / "inference.json").unlink()
    assert len(infer_images(tmp_path / "legacy", paths)["results"]) == 3


def test_onnx_round_trip(run, tmp_path):
    pytest.importorskip("paddle2onnx")
    pytest.importorskip("onnxruntime")
    report = export_model(cfg_for(run), str(tmp_path / "onnx"), onnx=True)
    onnx = [r for r in report["checks"] if r["runtime"] == "onnxruntime"][0]
    assert onnx["ok"] and (tmp_path / "onnx" / "inference.onnx").is_file()


def test_cli_export_then_infer_with_bad_images_named(run, tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    args = [sys.executable, str(ROOT / "tools" / "export_model.py"), "-c", str(LENET)]
    for item in tiny_overrides(tmp_path, epochs=1) + [f"Global.pretrained_model={run.run_dir}"]:
        args += ["-o", item]
    proc = subprocess.run(args + ["--out", str(tmp_path / "m")], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "paddle.inference: max |diff|" in proc.stdout
    assert "PaddleX has no LeNet" in proc.stdout  # the deploy name is explained
    assert PADDLE_SAVE_NOISE not in proc.stderr
    paths, _ = digit_pngs(tmp_path / "imgs", 3)
    (tmp_path / "imgs" / "broken.png").write_bytes(b"nope")
    cv2.imwrite(str(tmp_path / "imgs" / "wide.png"), np.zeros((28, 40), np.uint8))
    with open(os.fsencode(tmp_path / "imgs") + b"/odd-\xe9\xff.png", "wb") as f:
        f.write(paths[0].read_bytes())  # a name that is not UTF-8 (OpenCV's imread crashes)
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "infer.py"), "--model-dir",
                           str(tmp_path / "m"), "--images", str(tmp_path / "imgs"), "--out",
                           str(tmp_path / "p.json")], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "broken.png: the file is truncated" in proc.stderr
    assert "wide.png" not in proc.stderr   # resized to 28x28, as PaddleX would
    results = json.loads((tmp_path / "p.json").read_text())
    assert len(results) == 5
    odd = [r for r in results if r["image"].endswith("odd-\\xe9\\xff.png")]
    assert odd and odd[0]["topk"] == results[0]["topk"]  # the same digit, the same answer
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "infer.py"), "--model-dir",
                           str(tmp_path / "m"), "--images", str(tmp_path / "imgs" / "broken.png"),
                           "--out", str(tmp_path / "none.csv")], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 2 and "nothing was written" in proc.stderr
    assert not (tmp_path / "none.csv").exists()


def test_paddle_jit_save_prints_a_warning_the_export_filters(tmp_path):
    """Paddle 3.3.1 prints PADDLE_SAVE_NOISE from C++ when it saves a softmax."""
    code = ("import sys, paddle; from paddle.static import InputSpec\n"
            "from paddle_suite.deploy.export import _save\n"
            "spec = InputSpec([None, 4], 'float32', 'x')\n"
            "save = paddle.jit.save if sys.argv[1] == 'plain' else "
            "lambda n, p, input_spec: _save(n, p, input_spec[0])\n"
            "net = paddle.nn.Sequential(paddle.nn.Linear(4, 2), paddle.nn.Softmax())\n"
            "save(net, sys.argv[2], input_spec=[spec])\n")
    env = {k: v for k, v in os.environ.items() if k != "GLOG_minloglevel"}
    plain, filtered = (subprocess.run([sys.executable, "-c", code, how, str(tmp_path / how)],
                                      capture_output=True, text=True, timeout=120, env=env)
                       for how in ("plain", "suite"))
    assert plain.returncode == filtered.returncode == 0, filtered.stderr
    assert PADDLE_SAVE_NOISE in plain.stderr and PADDLE_SAVE_NOISE not in filtered.stderr


def test_bad_export_and_infer_input(run, tmp_path):
    other = LeNet(class_num=3)  # a checkpoint of another head size
    paddle.save(other.state_dict(), str(tmp_path / "other.pdparams"))
    with pytest.raises(UserError, match=r"does not fit.*fc.2.weight \[84, 3\] vs \[84, 2\]"):
        export_model(cfg_for(run, f"Global.pretrained_model={tmp_path / 'other.pdparams'}"),
                     str(tmp_path / "x"))
    export_model(cfg_for(run), str(tmp_path / "partial"))
    (tmp_path / "partial" / "inference.pdiparams").unlink()
    with pytest.raises(UserError, match="inference.pdiparams is missing"):
        infer_images(tmp_path / "partial", [])


def test_deploy_description_for_paddlex_and_paddleclas(run, tmp_path):
    export_model(cfg_for(run, "Infer.model_name=PP-LCNet_x1_0"), str(tmp_path / "soft"),
                 legacy=False)
    import yaml
    spec = yaml.safe_load((tmp_path / "soft" / "inference.yml").read_text())
    assert spec["Global"]["output"] == "probabilities"
    assert spec["Global"]["model_name"] == "PP-LCNet_x1_0"
    ops = [next(iter(op)) for op in spec["PreProcess"]["transform_ops"]]
    assert ops == ["ResizeImage", "NormalizeImage", "ToCHWImage"]
    assert spec["PreProcess"]["transform_ops"][0]["ResizeImage"] == {"size": [28, 28]}
    normalize = spec["PreProcess"]["transform_ops"][1]["NormalizeImage"]
    assert normalize["channel_num"] == 3 and normalize["mean"] == [0.5] * 3
    assert spec["PostProcess"] == {"Topk": {"topk": 2, "label_list": ["0", "1"]}}
    cls = yaml.safe_load((tmp_path / "soft" / "inference_cls.yaml").read_text())
    assert cls["PostProcess"]["main_indicator"] == "Topk"
    assert cls["Global"]["inference_model_dir"] == "."  # movable: run in the export's folder
    assert cls["PreProcess"] == spec["PreProcess"]
    from paddle_suite.deploy.export import predictor, run_predictor
    x = np.random.default_rng(0).normal(size=(4, 3, 28, 28)).astype("float32")
    probs = run_predictor(predictor(tmp_path / "soft"), x)
    assert probs.shape == (4, 2) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_default_export_directory_is_inside_the_run(run):
    report = export_model(cfg_for(run))
    assert report["model_dir"] == str(run.run_dir / "inference")


@pytest.mark.parametrize("program", ["inference.json", "inference.pdmodel only"])
def test_an_export_that_does_not_say_its_output_gets_no_second_softmax(run, tmp_path, program):
    """PaddleX's and PaddleClas's exports end in a softmax without saying so in their yml."""
    import shutil

    import yaml
    export_model(cfg_for(run), str(tmp_path / "m"))
    theirs = tmp_path / "theirs"
    shutil.copytree(tmp_path / "m", theirs)
    spec = yaml.safe_load((theirs / "inference.yml").read_text())
    spec["Global"].pop("output")
    (theirs / "inference.yml").write_text(yaml.safe_dump(spec))
    if program != "inference.json":
        (theirs / "inference.json").unlink()
    paths, _ = digit_pngs(tmp_path / "imgs", 4)
    ours = infer_images(tmp_path / "m", paths)["results"]
    served = infer_images(theirs, paths)["results"]
    for a, b in zip(served, ours):  # the pre-PIR program differs in the last digits
        assert [h["class_id"] for h in a["topk"]] == [h["class_id"] for h in b["topk"]]
        assert [h["score"] for h in a["topk"]] == pytest.approx([h["score"] for h in b["topk"]],
                                                                abs=1e-5)
    assert max(r["topk"][0]["score"] for r in served) > 0.9  # one softmax, not two


def test_an_export_never_overwrites_another_runs_export(run, tmp_path):
    """A PaddleClas config exports every run to its one save_inference_dir."""
    out = tmp_path / "inference"
    export_model(cfg_for(run), str(out))
    export_model(cfg_for(run), str(out))  # the same weights again: refreshed
    before = (out / "inference.pdiparams").read_bytes()
    other = tmp_path / "other.pdparams"
    net = LeNet(class_num=2)
    paddle.save(net.state_dict(), str(other))
    with pytest.raises(UserError, match=r"already holds an export of .*nothing was overwritten"):
        export_model(cfg_for(run, f"Global.pretrained_model={other}"), str(out))
    assert (out / "inference.pdiparams").read_bytes() == before
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="files that are not an export"):
        export_model(cfg_for(run), str(tmp_path / "mine"))
