"""The command-line tools in a subprocess: real runs, --print-config, and bad input -> exit 2."""
import json
import os
import subprocess
import sys

import pytest

from ..conftest import LENET, ROOT, tiny_overrides


def run_tool(tool, *args, cwd=ROOT):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, str(ROOT / "tools" / tool), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600, env=env)


def overrides(tmp_path, **extra):
    args = []
    for item in tiny_overrides(tmp_path / "logs", **extra):
        args += ["-o", item]
    return args


def test_train_then_eval_from_the_command_line(tmp_path):
    proc = run_tool("train.py", "-c", str(LENET), *overrides(tmp_path))
    assert proc.returncode == 0, proc.stderr
    runs = list((tmp_path / "logs" / "lenet_mnist").iterdir())
    assert len(runs) == 1 and "epoch 1/1 train" in proc.stderr
    last = proc.stdout.strip().splitlines()[-1]  # words, not a dict
    assert last.startswith("final top-1 ") and "% at epoch 1; completed 1 of 1" in last
    out = tmp_path / "eval.json"
    proc = run_tool("eval.py", "-c", str(LENET), *overrides(tmp_path),
                    "-o", f"Global.pretrained_model={runs[0]}", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "per-class accuracy" in proc.stdout
    assert f"weights: {runs[0] / 'checkpoints' / 'final.pdparams'}" in proc.stdout
    assert json.loads(out.read_text())["acc"] > 0.95


def test_the_outcome_line_says_final_and_best_in_words():
    from paddle_suite.lifecycle.engine import outcome
    summary = {"best_metric": "acc", "best_value": 0.9895, "best_epoch": 23,
               "final_eval": {"acc": 0.989, "loss": 0.04},
               "stop_reason": "completed 25 of 25 epochs"}
    assert outcome(summary) == ("final top-1 98.90%, best 98.95% at epoch 23; "
                                "completed 25 of 25 epochs")
    loss = {**summary, "best_metric": "loss", "best_value": 0.0312, "best_epoch": 20}
    assert outcome(loss) == "final loss 0.04, best 0.0312 at epoch 20; completed 25 of 25 epochs"
    failed = {"best_metric": "acc", "best_value": None, "best_epoch": None, "final_eval": {},
              "stop_reason": "failed after 0 epochs"}
    assert outcome(failed) == "no evaluation of acc; failed after 0 epochs"


def test_no_tool_shadows_an_importable_package():
    """A tool runs with tools/ first on sys.path: tools/visualdl.py would hide VisualDL."""
    import importlib.util
    clashes = [p.name for p in (ROOT / "tools").glob("*.py")
               if importlib.util.find_spec(p.stem) is not None]
    assert clashes == []


def test_print_config_shows_the_resolved_config_without_training(tmp_path):
    proc = run_tool("train.py", "-c", str(LENET), "--print-config", "-o", "Global.epochs=3",
                    "-o", f"Global.output_dir={tmp_path}")
    assert proc.returncode == 0
    assert "epochs: 3" in proc.stdout and "eta_min: 0.0" in proc.stdout
    assert not any(tmp_path.iterdir())


BAD = [
    (["-c", "missing.yaml"], "Config file not found"),
    (["-c", str(LENET), "-o", "Global.epohcs=3"], 'did you mean "epochs"'),
    (["-c", str(LENET), "-o", "Optimizer.name=Adamax"], "Allowed: Adadelta, Adagrad, Adam"),
    (["-c", str(LENET), "-o", "Global.epochs=ten"], "expected an integer"),
    (["-c", str(LENET), "-o", "DataLoader.Train.dataset.root=/no/such/dir"], "Data file not found"),
    (["-c", str(LENET), "-o", "Arch.class_num=5"], "class_num is 5 but"),
    (["-c", str(LENET), "-o", "Global.device=gpu"], "no GPU"),
    (["-c", str(LENET), "-o", "DataLoader.Train.transforms=[{RandomCrop: {size: 64}}]"],
     "the transforms fail on the first sample"),
    (["-c", str(LENET), "-o", "Arch.init=[xavier]"], "Arch.init: expected a mapping"),
]


@pytest.mark.parametrize("args, message", BAD)
def test_bad_input_is_one_paragraph_exit_2_and_no_run_directory(tmp_path, args, message):
    proc = run_tool("train.py", *args, "-o", f"Global.output_dir={tmp_path / 'logs'}",
                    cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr  # one paragraph, no stack
    assert not (tmp_path / "logs").exists()


def test_debug_shows_the_traceback(tmp_path):
    proc = run_tool("train.py", "-c", "missing.yaml", "--debug", cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_bad_yaml_names_line_and_column(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("Global:\n  epochs: [1, 2\n")
    proc = run_tool("train.py", "-c", str(bad))
    assert proc.returncode == 2 and "line 3, column 1" in proc.stderr


def test_eval_refuses_weights_of_another_network_with_the_same_names(tmp_path):
    from ..unit.test_nets import fake_run
    run, _ = fake_run(tmp_path, "Arch.head_activation=null")
    proc = run_tool("eval.py", "-c", str(LENET), "-o", f"Global.output_dir={tmp_path}",
                    "-o", f"Global.pretrained_model={run}")
    assert proc.returncode == 2, proc.stderr
    assert "Arch.head_activation: None in the run, 'relu' here" in proc.stderr
    assert "Traceback" not in proc.stderr
