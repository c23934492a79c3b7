"""tools/compare.py on runs with known differences: the recipe's ReLU head against the
linear head over seeds 1-6 (BENCHMARKS.md's figures), two seeds of one config, one run
each, and 50 runs."""
import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from paddle_suite import load_config
from paddle_suite.tuning.compare import load_group, verdict, write_comparison

from ..conftest import LENET, ROOT

LINEAR = {1: 98.45, 2: 98.55, 3: 98.25, 4: 98.25, 5: 98.30, 6: 98.75}  # BENCHMARKS.md
RELU = {1: 98.60, 2: 98.85, 3: 99.00, 4: 98.85, 5: 98.75, 6: 98.35}


def fake_runs(folder, finals: dict, *overrides):
    """Finished run directories as training leaves them: config.yaml, summary.json and
    metrics.jsonl, one per seed."""
    for seed, acc in finals.items():
        run = folder / f"seed-{seed}"
        run.mkdir(parents=True)
        cfg = load_config(LENET, [f"Global.seed={seed}", *overrides])
        (run / "config.yaml").write_text(cfg.to_yaml())
        (run / "summary.json").write_text(json.dumps({"final_eval": {"acc": acc / 100}}))
        rows = [{"epoch": e, "eval_acc": acc / 100 - 0.01 * (3 - e)} for e in (1, 2, 3)]
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_the_recipes_paired_gain_is_reproduced_and_called(tmp_path):
    linear = load_group(fake_runs(tmp_path / "linear", LINEAR, "Arch.head_activation=null"))
    relu = load_group(fake_runs(tmp_path / "relu", RELU))
    v = verdict(linear, relu)
    assert v.paired and v.n == 6
    assert v.difference == pytest.approx(np.mean([RELU[s] - LINEAR[s] for s in RELU]) / 100)
    assert round(100 * v.difference, 2) == 0.31  # BENCHMARKS: +0.31 over the six seeds
    assert v.low < 0 < v.high and v.p_positive > 0.9 and v.words.startswith("likely better")
    result = write_comparison([linear, relu], tmp_path / "out")
    assert result["differing"] == {"Arch.head_activation": [None, "relu"]}
    assert "over 6 paired seeds: likely better" in result["verdicts"][0]
    assert (tmp_path / "out" / "compare.png").stat().st_size > 0


def test_two_seeds_of_one_config_are_within_seed_noise(tmp_path):
    a = load_group(fake_runs(tmp_path / "a", {1: 98.60, 2: 98.85, 3: 99.00}))
    b = load_group(fake_runs(tmp_path / "b", {1: 98.75, 2: 98.70, 3: 98.95}))
    assert verdict(a, b).words == "within seed noise"
    one, other = load_group(a.runs[0]), load_group(b.runs[0])
    assert "no seed spread" in verdict(one, other).words


def test_a_clear_difference_is_called_better(tmp_path):
    base = {s: 98.0 + 0.1 * s for s in range(1, 6)}
    a = load_group(fake_runs(tmp_path / "a", base))
    b = load_group(fake_runs(tmp_path / "b", {s: v + 0.5 + 0.01 * s for s, v in base.items()},
                             "Optimizer.lr.learning_rate=0.003"))
    assert verdict(a, b).words == "better" and verdict(b, a).words == "worse"


def test_the_tool_on_50_runs(tmp_path):
    rng = np.random.default_rng(0)
    fake_runs(tmp_path / "a", {s: 98.5 + rng.normal(0, 0.2) for s in range(25)})
    fake_runs(tmp_path / "b", {s: 98.5 + rng.normal(0, 0.2) for s in range(25)},
              "Optimizer.lr.learning_rate=0.003")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "compare.py"), str(tmp_path / "a"),
                           str(tmp_path / "b"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Optimizer.lr.learning_rate: 0.002 | 0.003" in proc.stdout
    assert "over 25 paired seeds" in proc.stdout
    report = (tmp_path / "out" / "compare.md").read_text()
    assert "| " + str(tmp_path / "a") + " | 25 |" in report


def test_global_seeds_trains_a_group_that_compare_reads(tmp_path):
    from ..conftest import tiny_overrides
    args = [a for o in tiny_overrides(tmp_path / "logs", epochs=1,
                                      **{"Callbacks.VisualDL": "false",
                                         "Global.run_name": "g"}) for a in ("-o", o)]
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "train.py"), "-c", str(LENET),
                           *args, "-o", "Global.seeds=[1, 2]"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    group = tmp_path / "logs" / "lenet_mnist" / "g"
    assert sorted(p.name for p in group.iterdir() if p.is_dir()) == ["seed-1", "seed-2"]
    summary = json.loads((group / "group.json").read_text())
    assert summary["seeds"] == [1, 2] and summary["min"] <= summary["mean"] <= summary["max"]
    assert proc.stdout.strip().splitlines()[-1].startswith(f"group {group}: final top-1 ")
    loaded = load_group(group)
    assert sorted(loaded.finals) == [1, 2]
    assert yaml.safe_load((group / "seed-2" / "config.yaml").read_text())["Global"]["seed"] == 2
