"""Config loading, overrides and validation errors."""
import pytest

from paddle_suite import ConfigError, load_config
from paddle_suite.config.loader import parse_override

from ..conftest import LENET


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_override_values_are_literals_not_code():
    assert parse_override("Optimizer.lr.learning_rate=1e-3") == (
        ["Optimizer", "lr", "learning_rate"], "1e-3")
    assert parse_override("DataLoader.Train.transforms[1].Normalize.mean=[0.1]") == (
        ["DataLoader", "Train", "transforms", 1, "Normalize", "mean"], [0.1])
    assert parse_override("Global.seed=null")[1] is None
    assert parse_override("Global.experiment=__import__('os')")[1] == "__import__('os')"


def test_scientific_notation_is_a_number_in_files_and_overrides(tmp_path):
    cfg = load_config(write(tmp_path, "Optimizer:\n  name: SGD\n  lr: {learning_rate: 1e-3}\n"),
                      ["Optimizer.regularizer.name=L2", "Optimizer.regularizer.coeff=5e-4"])
    assert cfg["Optimizer"]["lr"]["learning_rate"] == pytest.approx(1e-3)
    assert cfg["Optimizer"]["regularizer"] == {"name": "L2", "coeff": pytest.approx(5e-4)}


def test_resolved_config_fills_defaults_and_names_experiment_after_file(tmp_path):
    cfg = load_config(write(tmp_path, "Global: {epochs: 3}\n", "myexp.yaml"))
    assert cfg["Global"]["experiment"] == "myexp"
    assert cfg["Arch"]["name"] == "LeNet" and cfg["Optimizer"]["name"] == "Adam"
    assert cfg["DataLoader"]["Train"]["dataset"]["name"] == "MNIST10k"
    assert "ToCHW" in cfg["DataLoader"]["Train"]["transforms"][-1]
    assert load_config(None, data=dict(cfg)) == cfg  # the resolved config reloads to itself


def test_list_index_override_changes_the_transform():
    cfg = load_config(LENET, ["DataLoader.Train.transforms[2].Normalize.mean=[0.1307]"])
    assert cfg["DataLoader"]["Train"]["transforms"][2]["Normalize"]["mean"] == [0.1307]


@pytest.mark.parametrize("text, expected", [
    ("Global:\n  epochs: 2\n  seeed: 3\n", ['Global.seeed: unknown key (did you mean "seed"?)',
                                           "line 3"]),
    ("Global:\n  epochs: two\n", ["Global.epochs: expected an integer, got 'two'", "line 2"]),
    ("Arch: {name: LeNet5}\n", ['did you mean "LeNet"', "BilinearCNN, DenseNet121"]),
    ("Optimizer: {name: Adamm}\n", ['did you mean "Adam"', "AdamW"]),
    ("Optimizer:\n  name: Adam\n  lr: {name: Cosinus}\n", ['did you mean "Cosine"', "OneCycle"]),
    ("Gobal: {epochs: 1}\n", ['Gobal: unknown section (did you mean "Global"?)']),
    ("Global: {epochs: 0}\n", ["Global.epochs: must be at least 1"]),
    ("Global: [1, 2]\n", ["Global: expected a mapping"]),
    ("Loss: {name: CrossEntropy, label_smoothing: 1.5}\n", ["label_smoothing: must be in [0, 1)"]),
    ("Global:\n  epochs: 3\n   bad: 1\n", ["YAML syntax error at line 3"]),
    ("", ["the file is empty"]),
    ("DataLoader:\n  classes: [0, 1]\n", ["Arch.class_num: is 10 but DataLoader.classes keeps 2"]),
    ("DataLoader:\n  Train:\n    dataset: {name: MNIST10k}\n    transforms:\n"
     "      - Normalize: {mean: [0.5]}\n", ["Normalize works on CHW float", "ToCHW"]),
    ("Optimizer: {name: AdamW, regularizer: {name: L2}}\n", ["AdamW decays weights itself"]),
    ("Global: {device: tpu}\n", ["Global.device: 'tpu' is not one of"]),
])
def test_bad_configs_name_the_key_and_the_line(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    for part in expected:
        assert part in str(info.value)


def test_override_errors_name_the_override():
    with pytest.raises(ConfigError) as info:
        load_config(LENET, ["Optimizer.lr.lerning_rate=0.1"])
    message = str(info.value)
    assert 'did you mean "learning_rate"' in message and "-o Optimizer.lr.lerning_rate=0.1" in message


def test_a_library_refusing_a_value_while_the_run_is_built_names_the_file_and_line(tmp_path):
    """Libraries raise OptionError about their options; the config layer alone makes it a
    ConfigError, located in the file the value came from (here only building the network
    can tell: SyncBatchNorm has no CPU kernel)."""
    from paddle_suite import build
    from paddle_suite.errors import OptionError
    path = write(tmp_path, f"_base_: {LENET}\nGlobal: {{device: cpu}}\nArch:\n  name: SmallCNN\n"
                 "  class_num: 10\n  batch_norm: true\n  sync_bn: true\n")
    cfg = load_config(path)
    with pytest.raises(ConfigError) as info:
        build(cfg, train=False)
    assert not isinstance(info.value, OptionError)
    assert str(info.value).startswith("Arch.sync_bn: SyncBatchNorm needs a GPU")
    assert str(info.value).endswith(f"({path}, line 7)")


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="Config file not found"):
        load_config(tmp_path / "missing.yaml")


def test_malformed_override_is_rejected():
    with pytest.raises(ConfigError, match="expected Section.key=value"):
        load_config(LENET, ["Global.epochs"])


def test_base_inheritance_merges_mappings_and_reports_loops(tmp_path):
    (tmp_path / "base.yaml").write_text("Global: {epochs: 7, seed: 1}\nArch: {name: MLP}\n")
    child = write(tmp_path, "_base_: base.yaml\nGlobal: {epochs: 3}\n", "child.yaml")
    cfg = load_config(child)
    assert cfg["Global"]["epochs"] == 3 and cfg["Global"]["seed"] == 1
    assert cfg["Arch"]["name"] == "MLP" and cfg["Global"]["experiment"] == "child"
    write(tmp_path, "_base_: b.yaml\n", "a.yaml")
    write(tmp_path, "_base_: a.yaml\n", "b.yaml")
    with pytest.raises(ConfigError, match="loops back"):
        load_config(tmp_path / "a.yaml")


def test_a_child_config_replaces_a_block_that_names_something_else(tmp_path):
    """Switching lenet.yaml's MNIST10k to a file list must not keep MNIST's `split`; a
    block with `_delete_: true` replaces the base's whole."""
    listing = tmp_path / "train.txt"
    listing.write_text("a.png 0\n")
    child = write(tmp_path, f"_base_: {LENET}\nDataLoader:\n  Train:\n    dataset: "
                  f"{{name: FileList, image_root: {tmp_path}, cls_label_path: {listing}}}\n"
                  "Optimizer:\n  regularizer: {_delete_: true, name: L1, coeff: 1.0e-5}\n",
                  "child.yaml")
    cfg = load_config(child)
    assert cfg["DataLoader"]["Train"]["dataset"] == {
        "name": "FileList", "image_root": str(tmp_path), "cls_label_path": str(listing),
        "label_map": None, "delimiter": None}
    assert cfg["Optimizer"]["regularizer"] == {"name": "L1", "coeff": 1e-5}
    assert cfg["DataLoader"]["Train"]["batch_size"] == 64  # the rest still merges


def test_a_paddlex_eval_set_without_split_reads_val(tmp_path):
    import logging
    cfg = write(tmp_path, f"_base_: {LENET}\nDataLoader:\n  Eval:\n    dataset: "
                f"{{name: PaddleX, dataset_dir: {tmp_path}}}\n", "px.yaml")
    said = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: said.append(record.getMessage())
    logger = logging.getLogger("paddle_suite")  # its own handlers: it need not propagate
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        loaded = load_config(cfg)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert loaded["DataLoader"]["Eval"]["dataset"]["split"] == "val"
    assert any("evaluating on val.txt" in m for m in said)


def test_every_shipped_config_validates():
    for path in sorted(LENET.parent.glob("*.yaml")):
        cfg = load_config(path)
        assert cfg["Global"]["experiment"], path


def test_no_import_cycles_and_no_import_from_a_lower_layer_to_a_higher_one():
    import subprocess
    import sys

    from ..conftest import ROOT
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "imports.py")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("0 import cycle(s), 0 upward import(s)")


def test_the_layer_check_sees_an_upward_import():
    import sys

    from ..conftest import ROOT
    sys.path.insert(0, str(ROOT / "bench"))
    import imports
    graph = {"paddle_suite.data.check": {"paddle_suite.lifecycle.predictions"},
             "paddle_suite.lifecycle.engine": {"paddle_suite.data.check"}}
    assert imports.upward(graph) == ["paddle_suite.data.check -> "
                                     "paddle_suite.lifecycle.predictions"]


def test_renaming_the_model_drops_only_the_files_options_the_new_one_lacks():
    cfg = load_config(LENET, ["Arch.name=MLP", "Arch.dropout=0.1"])
    assert cfg["Arch"]["name"] == "MLP" and cfg["Arch"]["in_channels"] == 1
    assert cfg["Arch"]["dropout"] == 0.1 and "head_activation" not in cfg["Arch"]
    assert cfg.notes == ["Arch.head_activation: dropped; the config set it for LeNet and MLP "
                         "does not take it"]
    assert load_config(LENET).notes == []
    with pytest.raises(ConfigError, match="Arch.head_activation: unknown key .*set by the "
                                          "override -o Arch.head_activation=relu"):
        load_config(LENET, ["Arch.name=MLP", "Arch.head_activation=relu"])


def test_a_child_config_that_names_another_model_drops_the_bases_options(tmp_path):
    child = write(tmp_path, f"_base_: {LENET}\nArch: {{name: SmallCNN, channels: [8, 16]}}\n")
    cfg = load_config(child)
    assert cfg["Arch"]["channels"] == [8, 16] and "head_activation" not in cfg["Arch"]
    assert cfg.notes == [f"Arch.head_activation: dropped; the config set it for LeNet and "
                         f"SmallCNN does not take it ({child})"]
    wrong = write(tmp_path, f"_base_: {LENET}\nArch: {{name: MLP, head_activation: relu}}\n",
                  "wrong.yaml")
    with pytest.raises(ConfigError, match="Arch.head_activation: unknown key"):
        load_config(wrong)
