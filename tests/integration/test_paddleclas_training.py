"""PaddleClas's quick-start classification configs, copied unchanged, train one epoch here on
the UCI digits written as a PaddleClas file list; only the data paths, class_num and
epochs are overridden. Then the run exports and the export serves the same images."""
import json
import subprocess
import sys

import cv2
import pytest
import yaml

from paddle_suite.data.datasets import sklearn_digits

from ..conftest import ROOT

CONFIGS = ROOT / "tests" / "paddleclas_configs"


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """PaddleClas layout: images, train_list.txt / val_list.txt ('path label'),
    label_list.txt ('id name')."""
    root = tmp_path_factory.mktemp("uci_digits")
    for split, list_name, count in (("train", "train_list.txt", 64), ("test", "val_list.txt", 32)):
        data, lines = sklearn_digits(split), []
        (root / split).mkdir()
        for i in range(count):
            cv2.imwrite(str(root / split / f"{i:03d}.png"), data.images[i, :, :, 0])
            lines.append(f"{split}/{i:03d}.png {data.labels[i]}")
        (root / list_name).write_text("\n".join(lines) + "\n")
    (root / "label_list.txt").write_text("".join(f"{i} digit_{i}\n" for i in range(10)))
    return root


def overrides(root):
    items = {"DataLoader.Train.dataset.image_root": root,
             "DataLoader.Train.dataset.cls_label_path": root / "train_list.txt",
             "DataLoader.Eval.dataset.image_root": root,
             "DataLoader.Eval.dataset.cls_label_path": root / "val_list.txt",
             "Infer.PostProcess.class_id_map_file": root / "label_list.txt",
             "Arch.class_num": 10, "Global.epochs": 1}
    return [arg for k, v in items.items() for arg in ("-o", f"{k}={v}")]


def tool(name, *args, cwd):
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / name), *map(str, args)],
                          capture_output=True, text=True, timeout=900, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.parametrize("name", ["ShuffleNetV2_x0_25", "MobileNetV3_large_x1_0"])
def test_quick_start_config_trains_and_exports(name, digits, tmp_path):
    config = CONFIGS / f"{name}.yaml"
    proc = tool("train.py", "-c", config, *overrides(digits), cwd=tmp_path)
    assert "completed 1 of 1 epochs" in proc.stdout + proc.stderr
    (run,) = (tmp_path / "output" / name).iterdir()   # PaddleClas's ./output/, our run layout
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["Arch"]["name"] == name and resolved["DataLoader"]["Train"]["batch_size"] > 0
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["epoch"] == 1 and 0 <= metrics[-1]["eval_acc"] <= 1
    tool("export_model.py", "-c", config, *overrides(digits), "-o",
         f"Global.pretrained_model={run}", "--no-legacy", cwd=tmp_path)
    exported = tmp_path / "inference"   # the config's Global.save_inference_dir
    spec = yaml.safe_load((exported / "inference.yml").read_text())
    assert spec["PreProcess"]["transform_ops"][:2] == [{"ResizeImage": {"resize_short": 256}},
                                                       {"CropImage": {"size": 224}}]
    assert spec["PostProcess"]["Topk"]["label_list"][3] == "digit_3"
    tool("infer.py", "--model-dir", exported, "--images", digits / "test",
         "--out", tmp_path / "p.json", cwd=tmp_path)
    assert len(json.loads((tmp_path / "p.json").read_text())) == 32


@pytest.mark.parametrize("arch", [
    ["Arch.name=ResNet50_vd",  # ResNet50_vd.yaml's shape: Mixup under the data set
     "DataLoader.Train.dataset.batch_transform_ops=[{MixupOperator: {alpha: 0.2}}]"],
    ["Arch={name: PPLCNet, scale: 1.0, act: hardswish, class_num: 10}"],  # PPLCNet_x1_0.yaml
])
def test_paddleclas_own_networks_train_export_and_infer(arch, digits, tmp_path):
    config = CONFIGS / "ResNet18.yaml"
    extra = [a for item in arch for a in ("-o", item)]
    tool("train.py", "-c", config, *overrides(digits), *extra, cwd=tmp_path)
    (run,) = (tmp_path / "output" / "ResNet18").iterdir()
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["Arch"]["name"] in ("ResNet50_vd", "PPLCNet")
    tool("export_model.py", "-c", config, *overrides(digits), *extra, "-o",
         f"Global.pretrained_model={run}", "--no-legacy", cwd=tmp_path)
    tool("infer.py", "--model-dir", tmp_path / "inference", "--images", digits / "test",
         "--out", tmp_path / "p.json", cwd=tmp_path)
    assert len(json.loads((tmp_path / "p.json").read_text())) == 32
