"""Sanity checks, the LR range test and learning-curve diagnosis on real (tiny) runs."""
import json
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest

from paddle_suite import UserError, load_config, train
from paddle_suite.tuning.lr_find import lr_find
from paddle_suite.tuning.lr_range_test import DEFAULT_RULE, smooth, suggest
from paddle_suite.tuning.sanity import check_head, run_checks

from ..conftest import LENET, ROOT, tiny_overrides


def by_name(results):
    return {r["check"]: r for r in results}


def test_sanity_checks_pass_on_the_default_model_and_catch_a_constant_init(tmp_path):
    good = by_name(run_checks(load_config(LENET, tiny_overrides(tmp_path)), subset=30,
                              steps=200))
    assert good["symmetric initialisation"]["verdict"] == "pass"
    assert good["overfit a tiny subset"]["verdict"] == "pass"
    assert good["gradient and activation health"]["verdict"] == "pass"
    assert "log(C) = 0.6931" in good["initial loss"]["detail"]
    bad = by_name(run_checks(load_config(LENET, tiny_overrides(
        tmp_path, **{"Arch.init": "{name: constant, value: 0.01}"})), subset=30, steps=60))
    assert bad["symmetric initialisation"]["verdict"] == "fail"
    assert "features.0" in bad["symmetric initialisation"]["detail"]
    zeros = by_name(run_checks(load_config(LENET, tiny_overrides(
        tmp_path, **{"Arch.init": "{name: zeros}"})), subset=30, steps=60))
    assert zeros["overfit a tiny subset"]["verdict"] == "fail"  # at every LR tried
    assert zeros["labels carry signal"]["verdict"] == "skip"  # nothing could show a signal


def test_an_lr_too_high_is_not_read_as_labels_without_signal(tmp_path):
    """At Adam 0.1 nothing learns, the real labels no better than shuffled ones; the label
    check trains at the LR the overfit check found working, so it passes and only the
    overfit check names the LR."""
    found = by_name(run_checks(load_config(LENET, tiny_overrides(
        tmp_path, **{"Optimizer.lr.learning_rate": 0.1})), subset=30, steps=200))
    assert "is too high" in found["overfit a tiny subset"]["advice"]
    assert found["labels carry signal"]["verdict"] == "pass", found["labels carry signal"]
    assert f"at LR {found['overfit a tiny subset']['working_lr']:g}" in \
        found["labels carry signal"]["detail"]


def test_initial_loss_tells_an_over_confident_head_from_unscaled_inputs(tmp_path):
    from paddle_suite.lifecycle.engine import build
    from paddle_suite.tuning.sanity import _batch, initial_loss

    def check(*overrides):
        built = build(load_config(LENET, [f"Global.output_dir={tmp_path}", *overrides]),
                      train=True)
        return initial_loss(built.net, *_batch(built.data.train, 64), 10)
    default = check()  # LeNet's default head starts at ~4.0 against ln 10 = 2.30
    assert default["verdict"] == "pass" and "only the head starts over-confident" in \
        default["detail"]
    raw = check("DataLoader.Train.transforms=[{ToCHW: {}}, "  # inputs 50x too large
                "{Normalize: {mean: [0.5], std: [0.01]}}]")
    assert raw["verdict"] in ("warn", "fail") and "input scaling" in raw["advice"]


@pytest.mark.parametrize("lr, way", [(0.3, "high"), (3e-7, "low")])
def test_a_failed_tiny_overfit_says_which_way_the_lr_is_wrong(tmp_path, lr, way):
    from paddle_suite.lifecycle.engine import build
    from paddle_suite.tuning.sanity import _batch, overfit_tiny
    cfg = load_config(LENET, tiny_overrides(tmp_path, **{
        "Optimizer.lr": f"{{name: Constant, learning_rate: {lr}}}"}))
    images, labels = _batch(build(cfg, train=True).data.train, 30)
    found = overfit_tiny(cfg, images, labels, steps=100)
    assert found["verdict"] in ("fail", "warn"), found
    assert f"is too {way}" in found["advice"], found


def test_a_model_without_a_matching_head_is_refused():
    with pytest.raises(UserError, match=r"outputs \[2, 16\]"):
        check_head(paddle.nn.Linear(4, 16), np.zeros((2, 4), "float32"), class_num=10)


def test_each_suggestion_rule_on_a_scripted_curve():
    lrs = np.geomspace(1e-6, 1, 200)
    loss = 2.0 - 1.5 / (1 + np.exp(-(np.log10(lrs) + 3) * 4))  # falls fastest at 1e-3
    loss[lrs > 0.1] += (np.log10(lrs[lrs > 0.1]) + 1) * 20      # diverges above 0.1
    curve = smooth(loss, 0.0)
    assert suggest(lrs, curve, "steep") == pytest.approx(1e-3, rel=0.15)
    assert suggest(lrs, curve, "minimum") == pytest.approx(1e-2, rel=0.15)  # min at 0.1
    # 80% of the way from 2.0 down to 0.5: where the logistic has fallen 1.2 of its 1.5
    assert suggest(lrs, curve, "descent") == pytest.approx(10 ** (-3 + np.log(4) / 4), rel=0.1)
    assert 1e-4 < suggest(lrs, curve, "valley") < 1e-1
    assert suggest(lrs, curve) == suggest(lrs, curve, DEFAULT_RULE)


def test_lr_range_test_sweeps_stops_at_divergence_and_writes_its_files(tmp_path):
    result = lr_find(load_config(LENET, tiny_overrides(tmp_path)), 1e-5, 10.0, steps=80)
    assert result["stopped_early"] and 10 < len(result["losses"]) < 80
    assert 1e-5 <= result["suggested_lr"] <= 10.0
    lrs = result["lrs"]
    assert all(b > a for a, b in zip(lrs, lrs[1:]))  # exponential, increasing
    run_dir = result["run_dir"]
    assert os.path.isfile(os.path.join(run_dir, "lr_find.png"))
    def strict(constant):
        raise AssertionError(f"lr_find.json holds {constant}, which JSON readers refuse")
    text = open(os.path.join(run_dir, "lr_find.json")).read()
    assert json.loads(text, parse_constant=strict)["suggested_lr"] == result["suggested_lr"]
    assert len(result["checks"]) == 6  # the sweep's suggestion checked by six short runs
    from paddle_suite.tuning.lr_find import lr_find_figure
    from paddle_suite.visual.plots import pyplot
    fig = lr_find_figure(result)
    low, high = fig.axes[0].get_ylim()
    smoothed = np.array(result["smoothed"])
    assert low < smoothed.min() < high and high < max(result["losses"])  # divergence clipped
    assert high >= smoothed[:int(np.argmin(smoothed)) + 1].max()  # the descent fully shown
    pyplot().close(fig)


def test_diagnosis_is_in_the_summary_and_the_tool_prints_it(tmp_path):
    result = train(load_config(LENET, tiny_overrides(tmp_path, epochs=2,
                                                     **{"Callbacks.VisualDL": "false"})))
    assert result.summary["diagnosis"] and "case" in result.summary["diagnosis"][0]
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "diagnose.py"),
                           str(result.run_dir)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0 and "->" in proc.stdout
    assert result.summary["diagnosis"][0]["case"] in proc.stdout


def test_sanity_and_lr_find_tools_run(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    args = []
    for item in tiny_overrides(tmp_path):
        args += ["-o", item]
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "sanity_check.py"), "-c",
                           str(LENET), *args, "--subset", "20", "--steps", "100"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[PASS] overfit a tiny subset" in proc.stdout
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "lr_find.py"), "-c", str(LENET),
                           *args, "--steps", "40"], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0 and "suggested LR" in proc.stdout, proc.stderr
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "lr_find.py"), "-c", str(LENET),
                           "--lr-min", "1", "--lr-max", "0.1"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 2 and "need 0 < min < max" in proc.stderr


def test_batch_size_study_runs_each_size_with_a_scaled_lr(tmp_path):
    from paddle_suite.tuning.batch_size import batch_size_study, scaled_lr
    assert scaled_lr(0.002, 128, 64, "linear") == pytest.approx(0.004)
    assert scaled_lr(0.002, 256, 64, "sqrt") == pytest.approx(0.004)
    cfg = load_config(LENET, tiny_overrides(tmp_path, epochs=2, **{"Callbacks.VisualDL": "false"}))
    result = batch_size_study(cfg, [64, 256])
    assert [r["batch_size"] for r in result["rows"]] == [64, 256]
    assert result["rows"][1]["lr"] == pytest.approx(4 * result["rows"][0]["lr"])
    assert os.path.isfile(os.path.join(result["dir"], "batch_size_vs_time.png"))
    assert "| 256 |" in open(os.path.join(result["dir"], "batch_size_study.md")).read()
