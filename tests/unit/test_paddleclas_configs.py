"""PaddleClas's own configs (copied unchanged into tests/paddleclas_configs/) read as the
suite's vocabulary, and what the suite cannot honour refused with a reason."""
import subprocess
import sys

import pytest
import yaml

from paddle_suite import ConfigError, load_config
from paddle_suite.config.paddleclas import is_paddleclas

from ..conftest import LENET, ROOT

CONFIGS = ROOT / "tests" / "paddleclas_configs"


def data_paths(root="/data"):
    return [f"DataLoader.Train.dataset.image_root={root}",
            f"DataLoader.Train.dataset.cls_label_path={root}/train_list.txt",
            f"DataLoader.Eval.dataset.image_root={root}",
            f"DataLoader.Eval.dataset.cls_label_path={root}/val_list.txt",
            f"Infer.PostProcess.class_id_map_file={root}/label_list.txt", "Arch.class_num=10"]


def test_resnet18_imagenet_config_means_the_same_here():
    cfg = load_config(CONFIGS / "ResNet18.yaml", data_paths())
    assert cfg["Arch"]["name"] == "ResNet18" and cfg["Arch"]["class_num"] == 10
    assert cfg["Global"]["device"] == "auto" and cfg["Global"]["log_interval"] == 10
    assert cfg["Global"]["epochs"] == 120 and cfg["Global"]["eval_interval"] == 1
    assert "VisualDL" not in cfg["Callbacks"]              # use_visualdl: False
    assert cfg["Loss"]["name"] == "CrossEntropy" and cfg["Loss"]["label_smoothing"] == 0
    opt = cfg["Optimizer"]
    assert (opt["name"], opt["momentum"], opt["regularizer"]) == \
        ("Momentum", 0.9, {"name": "L2", "coeff": 1e-4})
    # Piecewise with learning_rate: PaddleClas decays 10x every 30 epochs, per iteration
    assert (opt["lr"]["name"], opt["lr"]["learning_rate"], opt["lr"]["step_size"],
            opt["lr"]["gamma"], opt["lr"]["step_on"]) == ("Step", 0.1, 30, 0.1, "step")
    train, evaluation = cfg["DataLoader"]["Train"], cfg["DataLoader"]["Eval"]
    assert train["dataset"] == {"name": "FileList", "image_root": "/data",
                                "cls_label_path": "/data/train_list.txt",
                                "label_map": "/data/label_list.txt", "delimiter": None}
    assert [next(iter(t)) for t in train["transforms"]] == \
        ["RandomResizedCrop", "RandomHorizontalFlip", "ToCHW", "Normalize"]
    assert evaluation["transforms"][:2] == [{"Resize": {"size": 256}},
                                            {"CenterCrop": {"size": 224}}]
    assert evaluation["transforms"][3]["Normalize"]["std"] == [0.229, 0.224, 0.225]
    assert (train["batch_size"], train["shuffle"], train["num_workers"]) == (64, True, 4)
    assert cfg["Metric"]["topk"] == [1, 5] and cfg["Infer"]["batch_size"] == 10


def test_quick_start_configs_translate():
    shuffle = load_config(CONFIGS / "ShuffleNetV2_x0_25.yaml", data_paths())
    lr = shuffle["Optimizer"]["lr"]
    assert (lr["name"], lr["learning_rate"], lr["warmup_epoch"], lr["step_on"]) == \
        ("Cosine", 0.0125, 5, "step")
    assert shuffle["Global"]["device"] == "cpu"
    mobile = load_config(CONFIGS / "MobileNetV3_large_x1_0.yaml",
                         data_paths() + ["Global.epochs=2"])
    # warm-up longer than the run: PaddleClas warms up the whole run, so does the suite
    assert mobile["Optimizer"]["lr"]["name"] == "Constant"
    assert mobile["Optimizer"]["lr"]["warmup_epoch"] == 2


def test_the_suites_own_keys_still_apply_to_a_paddleclas_config():
    cfg = load_config(CONFIGS / "ResNet18.yaml", data_paths() + [
        "Global.run_name=first", "Global.eval_steps=5", "Arch.in_channels=1",
        "Global.image_shape=[1, 224, 224]",
        "Callbacks.EarlyStopping={monitor: acc, patience: 3}"])
    assert cfg["Global"]["run_name"] == "first" and cfg["Global"]["eval_steps"] == 5
    assert cfg["Arch"]["in_channels"] == 1 and cfg["Callbacks"]["EarlyStopping"]["patience"] == 3


def test_the_suites_own_configs_are_not_touched():
    data = yaml.safe_load(LENET.read_text())
    assert not is_paddleclas(data)


def paddleclas(**changes):
    data = yaml.safe_load((CONFIGS / "ShuffleNetV2_x0_25.yaml").read_text())
    for dotted, value in changes.items():
        node, keys = data, dotted.split("__")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(keys[-1]) if isinstance(node, list) else keys[-1]] = value
    return data


@pytest.mark.parametrize("changes, message", [
    ({"AMP": {"use_amp": True, "level": "O2"}}, r"AMP.level: O2 .* is not supported"),
    ({"Arch__name": "ResNeXt50_32x4d"}, r"'ResNeXt50_32x4d' .* does not have: ResNeXt .*"
                                        r"nearest in the suite: ResNet50"),
    ({"Arch__name": "PPHGNet_small"}, r"PaddleClas architecture the suite does not have: PP-HGNet"),
    ({"Arch__name": "ResNet50_vd", "Arch__pretrained": True}, r"download its weights"),
    ({"Arch__name": "PPLCNet", "Arch__use_last_conv": False}, r"Arch.use_last_conv: a "
                                                              r"PaddleClas option"),
    ({"Arch__name": ["ResNet18"]}, r"\['ResNet18'\] is a PaddleClas architecture"),
    ({"Optimizer__lr__name": {"a": 1}}, r"schedule \{'a': 1\} is not supported"),
    ({"Loss__Train": [{"MixCELoss": {}}]}, r"Loss.Train\[0\].MixCELoss: not supported"),
    ({"Loss__Train": [{"CELoss": {"weight": 0.5}}]}, r"weight only rescales"),
    ({"Global__save_interval": 5}, r"every-5-epochs copies are not made"),
    ({"Global__use_dali": True}, r"Global.use_dali: True is not supported \(NVIDIA DALI"),
    ({"Global__use_gpu": True}, r"Global.use_gpu: a PaddleClas key the suite does not support"),
    ({"Optimizer__lr__name": "ReduceOnPlateau"}, r"schedule 'ReduceOnPlateau' is not supported"),
    ({"Optimizer__no_weight_decay_name": "norm"}, r"exempting parameters"),
    ({"DataLoader__Train__dataset__transform_ops__1": {"TimmAutoAugment": {}}},
     r"transform_ops\[1\].TimmAutoAugment: the suite has no equivalent"),
    ({"DataLoader__Train__dataset__transform_ops__3__NormalizeImage__scale": "1.0/127.5"},
     r"NormalizeImage.scale: '1.0/127.5' is not supported"),
    ({"DataLoader__Train__sampler__name": "PKSampler"}, r"sampler.name: 'PKSampler'"),
    ({"DataLoader__Eval__dataset__name": "MultiLabelDataset"}, r"'MultiLabelDataset' is not "
                                                              r"supported"),
    ({"Metric__Eval": [{"TopkAcc": {"topk": [1, 2]}}]}, r"make Metric.Train and Metric.Eval"),
    ({"Infer__transforms": [{"ResizeImage": {"resize_short": 300}}]}, r"Infer.transforms: the "
                                                                      r"export's pre-processing"),
    ({"Global__image_shape": [3, 160, 160]}, r"image_shape: \[3, 160, 160\] but the Eval "
                                             r"transforms give \[224, 224\]"),
    ({"Global__image_shape": [1, 224, 224], "Arch__in_channels": 3},
     r"has 1 channels but Arch.in_channels is 3"),
])
def test_what_cannot_be_honoured_is_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, data_paths(), data=paddleclas(**changes))


def test_cli_refuses_with_exit_2_and_the_line(tmp_path):
    text = (CONFIGS / "ShuffleNetV2_x0_25.yaml").read_text().replace("save_interval: 1",
                                                                     "save_interval: 3")
    (tmp_path / "bad.yaml").write_text(text)
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "train.py"), "-c",
                           str(tmp_path / "bad.yaml")], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Global.save_interval: the suite writes a resume checkpoint every epoch" in proc.stderr
    assert "bad.yaml, line " in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "output").exists()


def test_paddleclas_flagship_shapes_load_as_paddleclas_writes_them():
    """ResNet50_vd.yaml puts Mixup under the data set (where PaddleClas reads it, in all of
    its configs); PPLCNet_x1_0.yaml says `name: PPLCNet, scale: 1.0, act: hardswish`;
    use_ema.yaml switches EMA on with Global.ema."""
    base = ROOT / "tests" / "paddleclas_configs" / "ResNet18.yaml"
    cfg = load_config(base, ["Arch.name=ResNet50_vd", "DataLoader.Train.dataset."
                             "batch_transform_ops=[{MixupOperator: {alpha: 0.2}}]"])
    assert cfg["Arch"]["name"] == "ResNet50_vd"
    assert cfg["DataLoader"]["Train"]["mix"]["name"] == "mixup"
    assert cfg["DataLoader"]["Train"]["mix"]["alpha"] == 0.2
    cfg = load_config(base, ["Arch={name: PPLCNet, scale: 1.0, act: hardswish, class_num: 10}",
                             "Global.ema=true"])
    assert cfg["Arch"]["scale"] == 1.0 and cfg["Arch"]["act"] == "hardswish"
    assert cfg["Callbacks"]["EMA"]["decay"] == 0.9999
    cfg = load_config(base, ["EMA={decay: 0.9998}"])  # PaddleClas's own top-level section
    assert cfg["Callbacks"]["EMA"]["decay"] == 0.9998
    cfg = load_config(base, ["Arch.name=ResNet50_vd", "Metric.Train=null"])  # Mixup configs
    assert cfg["Metric"]["topk"] == [1, 5]
    with pytest.raises(ConfigError, match="batches are mixed in training only"):
        load_config(base, ["DataLoader.Eval.dataset.batch_transform_ops="
                           "[{MixupOperator: {alpha: 0.2}}]"])
