"""Real (tiny) training runs through paddle.Model: run directory, records, cadence, repeatability."""
import json

import pytest

from paddle_suite import evaluate, load_config, train
from paddle_suite.models import LeNet
from paddle_suite.runs.checkpoint import load_into

from ..conftest import LENET, tiny_overrides


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_run_directory_holds_everything(tiny_cfg):
    result = train(tiny_cfg(epochs=2))
    run = result.run_dir
    for name in ("config.yaml", "train.log", "metrics.jsonl", "summary.json",
                 "checkpoints/best.pdparams", "checkpoints/last.pdparams",
                 "checkpoints/last.pdopt"):
        assert (run / name).is_file(), name
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2]
    for key in ("lr", "train_loss", "train_acc", "eval_loss", "eval_acc", "seconds",
                "samples_per_second"):
        assert key in rows[0], key
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_run"] == 2
    assert summary["best_metric"] == "acc" and summary["best_value"] > 0.95  # 0 vs 1 is easy
    assert summary["train_samples_per_second"] > 0
    assert summary["final_eval"]["acc"] == rows[-1]["eval_acc"]
    assert load_config(run / "config.yaml") == tiny_cfg(epochs=2)  # resolved, reloadable
    assert "epoch 2/2 train" in (run / "train.log").read_text()
    # last.* are the newest resume checkpoint's own files (one write per epoch, not two)
    newest = run / "checkpoints" / "resume" / "epoch-0002"
    for last, source in (("last.pdparams", "network.pdparams"), ("last.pdopt", "optimizer.pdopt")):
        assert (run / "checkpoints" / last).samefile(newest / source), last


def test_same_seed_repeats_exactly_and_another_seed_differs(tiny_cfg):
    def losses(cfg):
        return [(r["train_loss"], r["eval_loss"]) for r in train(cfg).history]
    first, second = losses(tiny_cfg()), losses(tiny_cfg())
    assert first == second
    assert losses(tiny_cfg(**{"Global.seed": 7})) != first


def test_eval_cadence_every_n_epochs_and_every_n_steps(tiny_cfg):
    result = train(tiny_cfg(epochs=3, **{"Global.eval_interval": 2}))
    assert ["eval_acc" in r for r in result.history] == [False, True, True]  # 2 and the last
    result = train(tiny_cfg(epochs=1, **{"Global.eval_steps": 5}))
    log = (result.run_dir / "train.log").read_text()
    assert result.summary["final_eval_step"] == 14  # 1,707 images of 0 and 1 in batches of 128
    assert [f"step {s} " in log for s in (5, 10, 14)] == [True, True, True]
    assert log.count("eval  epoch 1 step") == 3


def test_lr_schedule_steps_per_update_or_per_epoch(tiny_cfg):
    per_step = train(tiny_cfg(epochs=2, **{"Optimizer.lr.name": "Step", "Optimizer.lr.step_size": 1,
                                           "Optimizer.lr.gamma": 0.5}))
    lrs = [r["lr"] for r in per_step.history]
    assert lrs[0] == pytest.approx(2e-3) and lrs[1] == pytest.approx(1e-3)


def test_true_mean_eval_loss_matches_a_recomputation(tiny_cfg):
    result = train(tiny_cfg())
    metrics = evaluate(tiny_cfg(), weights=str(result.run_dir / "checkpoints" / "last.pdparams"))
    assert metrics["loss"] == pytest.approx(result.history[-1]["eval_loss"], rel=1e-5)
    assert metrics["acc"] == pytest.approx(result.history[-1]["eval_acc"])
    per_class = metrics["per_class"]
    assert set(per_class) == {"0", "1"}
    total = sum(v["samples"] for v in per_class.values())
    weighted = sum(v["accuracy"] * v["samples"] for v in per_class.values()) / total
    assert weighted == pytest.approx(metrics["acc"])


@pytest.mark.parametrize("arch", [
    {"Arch.name": "MLP", "Arch.hidden": "[32]", "Arch.activation": "tanh", "Arch.dropout": 0.1},
    {"Arch.name": "SmallCNN", "Arch.channels": "[8, 16]", "Arch.activation": "prelu"},
    {"Arch.name": "LeNet", "Arch.init": "{name: kaiming}", "Loss": "{name: Hinge}"},
    {"Arch.name": "LeNet", "DataLoader.Train.mix": "{name: mixup, alpha: 0.4}",
     "Loss.label_smoothing": 0.1},
])
def test_models_losses_and_mixing_learn_the_easy_pair(tiny_cfg, arch):
    result = train(tiny_cfg(**arch))
    assert result.summary["best_value"] > 0.9


def test_zoo_model_adapts_channels_and_classes():
    import paddle

    from paddle_suite.models import MODELS
    net = MODELS["ResNet18"](class_num=4, in_channels=1)
    assert net(paddle.rand([2, 1, 32, 32])).shape == [2, 4]
    net = MODELS["MobileNetV2"](class_num=3, in_channels=1)
    assert net(paddle.rand([1, 1, 32, 32])).shape == [1, 3]


def test_workers_load_data_in_subprocesses(tiny_cfg):
    augment = "[{RandomAffine: {degrees: 10}}, {ToCHW: {}}, {Normalize: {mean: [0.5], std: [0.5]}}]"
    result = train(tiny_cfg(**{"DataLoader.Train.num_workers": 2,
                               "DataLoader.Train.transforms": augment}))
    assert result.summary["status"] == "completed" and result.summary["best_value"] > 0.9


def test_transfer_from_mnist_to_sklearn_digits_with_a_frozen_backbone(tmp_path):
    from pathlib import Path
    source = train(load_config(LENET, [f"Global.output_dir={tmp_path}", "Global.epochs=1",
                                       "Callbacks.VisualDL=false"]))
    config = Path(LENET).parent / "transfer" / "digits_train_head.yaml"
    result = train(load_config(config, [f"Global.output_dir={tmp_path}", "Global.epochs=3",
                                        f"Arch.pretrained={source.run_dir}",
                                        "Callbacks.VisualDL=false"]))
    summary = result.summary
    assert summary["pretrained"]["loaded"] == 10 and not summary["pretrained"]["skipped_shape"]
    assert summary["finetune"] == {"trainable": 2, "frozen": 8, "lr_mult": {}}
    assert summary["final_eval"]["acc"] > 0.5  # 100 labelled UCI digits, only the head trained
    from paddle_suite.tuning.feature_linear import feature_linear
    frozen = feature_linear(load_config(config, [f"Global.output_dir={tmp_path}",
                                                 f"Arch.pretrained={source.run_dir}",
                                                 "Arch.finetune=null"]))
    assert frozen["features"] == 84  # LeNet's head reads 84 numbers
    assert frozen["train_acc"] == 1.0 and frozen["acc"] > 0.5  # a linear fit on frozen features


def test_transfer_table_has_every_mode_for_every_k(tmp_path):
    from pathlib import Path

    from paddle_suite.tuning.transfer_table import MODES, transfer_table
    source = train(load_config(LENET, [f"Global.output_dir={tmp_path}", "Global.epochs=1",
                                       "Callbacks.VisualDL=false"]))
    config = Path(LENET).parent / "transfer" / "digits_train_head.yaml"
    quick = tmp_path / "quick.yaml"
    quick.write_text(f"_base_: {config}\nGlobal: {{epochs: 2}}\n")
    table = transfer_table(quick, str(source.run_dir), ks=(5,), seeds=(0,),
                           output_dir=str(tmp_path))
    assert [r["mode"] for r in table["rows"]] == list(MODES)
    assert all(0.0 <= r["accs"][0] <= 1.0 for r in table["rows"])
    assert table["markdown"].splitlines()[2].startswith("| 5 |")


def test_to_static_trains_the_same_network(tmp_path):
    """Global.to_static runs the forward as a compiled program: same parameters, a run that
    learns like the dygraph one (not bit-identical: the kernels differ), weights that load."""
    results = {}
    for flag in ("false", "true"):
        cfg = load_config(LENET, tiny_overrides(tmp_path / flag, epochs=1, **{
            "Global.to_static": flag, "Callbacks.VisualDL": "false"}))
        results[flag] = train(cfg)
    dygraph, static = results["false"].summary, results["true"].summary
    assert static["best_value"] > 0.9 and abs(static["best_value"] - dygraph["best_value"]) < 0.02
    net = LeNet(class_num=2)
    load_into(net, results["true"].run_dir / "checkpoints" / "final.pdparams")
