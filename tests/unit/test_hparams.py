"""Which keys a run gives VisualDL's hyper-parameter page: the tuned ones, the ones set, the
ones that differ from the other runs of its folder; never the constants."""
import yaml

from paddle_suite import load_config
from paddle_suite.visual.hparams import page_hparams, sibling_configs, varying_keys

from ..conftest import LENET


def test_constants_stay_off_the_page():
    overrides = ["Optimizer.lr.learning_rate=0.004"]
    page = page_hparams(load_config(LENET, overrides), overrides)
    assert set(page) == {"lr", "batch_size", "weight_decay"}
    assert page["lr"] == 0.004 and isinstance(page["lr"], float)


def test_a_key_that_differs_from_another_run_is_shown_in_the_pages_words():
    mine = load_config(LENET, ["Global.epochs=3"])
    other = load_config(LENET, ["Loss.label_smoothing=0.2", "Global.seed=7"])
    assert varying_keys(mine, [other]) == ["Global.epochs", "Global.seed", "Loss.label_smoothing"]
    page = page_hparams(mine, [], [other])
    assert page["label_smoothing"] == 0.1 and page["seed"] == 42 and page["epochs"] == 3


def test_keys_of_how_a_run_is_watched_are_not_hyper_parameters():
    mine = load_config(LENET, ["Global.output_dir=a", "Global.log_interval=5"])
    assert varying_keys(mine, [load_config(LENET)]) == []


def test_sibling_configs_read_the_other_runs_of_the_folder(tmp_path):
    for name, lr in (("a", 0.1), ("b", 0.2), ("c", 0.3)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text(
            yaml.safe_dump({"Optimizer": {"lr": {"learning_rate": lr}}}))
    (tmp_path / "not-a-run").mkdir()
    found = sibling_configs(tmp_path / "b")
    assert sorted(c["Optimizer"]["lr"]["learning_rate"] for c in found) == [0.1, 0.3]
    assert len(sibling_configs(tmp_path / "b", limit=1)) == 1
