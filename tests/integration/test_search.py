"""Hyper-parameter search: validation of the search config, a real tiny study, resuming."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest
import yaml

from paddle_suite import ConfigError, UserError
from paddle_suite.config.search_file import load_search
from paddle_suite.tuning.search import hide_password, open_study, run_search

from ..conftest import LENET, ROOT

ROOT_CONFIGS = ROOT / "configs"

TINY = f"""
base: {LENET}
overrides:
  - Global.epochs=2
  - Callbacks.VisualDL=false
  - "DataLoader.classes=[0, 1]"
  - Arch.class_num=2
  - "Metric.topk=[1]"
  - DataLoader.Train.batch_size=128
"""


def write(tmp_path, study, space):
    path = tmp_path / "search.yaml"
    path.write_text(TINY + textwrap.dedent(study) + textwrap.dedent(space))
    return path


def test_a_tiny_random_search_writes_ranked_trials_best_config_and_plots(tmp_path):
    path = write(tmp_path, "study: {name: s1, sampler: random, n_trials: 3, seed: 1}\n",
                 "space:\n  Optimizer.lr.learning_rate: {type: loguniform, low: 1.0e-4, "
                 "high: 1.0e-2}\n")
    result = run_search(load_search(path), str(tmp_path / "logs"))
    folder = tmp_path / "logs" / "s1"
    assert result["completed"] == 3 and result["epochs_trained"] == 6
    table = (folder / "trials.md").read_text().splitlines()
    values = [float(line.split("|")[4]) for line in table[2:]]
    assert values == sorted(values, reverse=True)  # ranked best first
    best = (folder / "best_config.yaml").read_text()
    assert f"{result['best_params']['Optimizer.lr.learning_rate']}"[:6] in best
    for name in ("trials.csv", "optimization_history.png", "parallel_coordinate.png"):
        assert (folder / name).is_file(), name
    runs = [p for p in folder.iterdir() if p.is_dir()]
    assert len(runs) == 3 and all((r / "summary.json").is_file() for r in runs)
    again = run_search(load_search(path), str(tmp_path / "logs"))  # resumes the same study
    assert again["trials"] == 6


def start_workers(search, count: int, storage: str | None, out_dirs: list):
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    extra = ["--storage", storage] if storage else []
    return [subprocess.Popen([sys.executable, str(ROOT / "tools" / "tune.py"), "-c", str(search),
                              *extra, "--output-dir", str(out_dirs[i])], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for i in range(count)]


def check_distinct_complete_trials(study, expected: int) -> None:
    """Exactly `expected` trials, all complete, no two with the same parameters."""
    trials = study.get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * expected
    assert len({tuple(sorted(t.params.items())) for t in trials}) == expected


SHARED = ("study: {name: shared, sampler: %s, n_trials: 2, seed: 3}\n"
          "space:\n  Optimizer.lr.learning_rate: {type: loguniform, low: 1.0e-4, "
          "high: 1.0e-2}\n")


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_two_workers_on_one_sqlite_study_run_distinct_trials(tmp_path, sampler):
    """Same search config, same seed, started together on one SQLite file: neither fails
    the other's running trial, and the 4 trials all differ."""
    search = tmp_path / "search.yaml"
    search.write_text(TINY + SHARED % sampler)
    workers = start_workers(search, 2, None, [tmp_path / "logs"] * 2)
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
        assert "marked failed" not in err
    storage = f"sqlite:///{tmp_path / 'logs' / 'shared' / 'study.db'}"
    check_distinct_complete_trials(optuna.load_study(study_name="shared", storage=storage), 4)


def test_a_killed_worker_trial_is_failed_after_the_grace_period(tmp_path):
    path = write(tmp_path, "study: {name: s2, sampler: random, n_trials: 1, heartbeat: 1, "
                           "grace_period: 3}\n",
                 "space:\n  Optimizer.lr.learning_rate: {type: loguniform, low: 1.0e-4, "
                 "high: 1.0e-2}\n")
    (worker,) = start_workers(path, 1, None, [tmp_path / "logs"])
    deadline = time.time() + 120
    while not list((tmp_path / "logs" / "s2").glob("trial-*/metrics.jsonl")):
        assert time.time() < deadline and worker.poll() is None
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)  # mid-trial: it stays RUNNING in the study
    worker.wait()
    search = load_search(path)
    study, _ = open_study(search, str(tmp_path / "logs"))
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.RUNNING]
    time.sleep(3.5)  # silence longer than the grace period
    study, _ = open_study(search, str(tmp_path / "logs"))
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.FAIL]


@pytest.mark.parametrize("space, message", [
    ("Optimizer.lr.lerning_rate: {type: uniform, low: 0.001, high: 0.01}",
     'did you mean "learning_rate"'),
    ("Optimizer.lr.learning_rate: {type: uniform, low: 0.1, high: 0.01}", "inverted range"),
    ("Optimizer.lr.learning_rate: {type: loguniform, low: 0, high: 0.01}",
     "log-uniform range needs positive bounds"),
    ("Optimizer.lr.learning_rate: {type: normal, low: 0, high: 1}", "'normal' is not one of"),
    ("Arch.name: {type: categorical, choices: []}", "list at least one value"),
])
def test_bad_spaces_are_clear_errors(tmp_path, space, message):
    path = write(tmp_path, "study: {name: bad}\n", f"space:\n  {space}\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_search(path)


def test_grid_needs_values_and_storage_errors_hide_the_password(tmp_path):
    path = write(tmp_path, "study: {name: g, sampler: grid}\n",
                 "space:\n  Optimizer.lr.learning_rate: {type: loguniform, low: 1.0e-4, "
                 "high: 1.0e-2}\n")
    with pytest.raises(ConfigError, match="grid needs explicit values"):
        load_search(path)
    url = "postgresql://tuner:s3cret@127.0.0.1:1/optuna"
    assert hide_password(url) == "postgresql://tuner:***@127.0.0.1:1/optuna"
    path = write(tmp_path, f"study: {{name: pg, storage: '{url}'}}\n",
                 "space:\n  Optimizer.lr.learning_rate: {type: grid, values: [0.001]}\n")
    with pytest.raises(UserError) as info:
        open_study(load_search(path), str(tmp_path / "logs"))
    assert "127.0.0.1" in str(info.value) and "s3cret" not in str(info.value)


def test_a_worker_that_loses_the_table_creation_race_tries_again():
    """Workers starting together against an empty database race to create the study tables;
    each driver reports the loser differently, and a wrong password is no race."""
    import sqlalchemy.exc as sa

    from paddle_suite.tuning.search import lost_table_race

    def wrapped(kind, message):
        return kind("CREATE TABLE studies", {}, Exception(message))
    assert lost_table_race(wrapped(sa.ProgrammingError,  # PostgreSQL: DuplicateTable
                                   'relation "studies" already exists'))
    assert lost_table_race(wrapped(sa.IntegrityError, "duplicate key value"))
    assert lost_table_race(wrapped(sa.OperationalError, "table studies already exists"))
    assert lost_table_race(wrapped(sa.OperationalError, "database is locked"))
    assert not lost_table_race(wrapped(sa.OperationalError,
                                       'password authentication failed for user "tuner"'))
    assert not lost_table_race(wrapped(sa.ProgrammingError, 'relation "trials" does not exist'))


def test_narrowing_keeps_the_span_of_the_top_trials():
    from paddle_suite.tuning.refine import narrow
    space = {"lr": {"type": "loguniform", "low": 1e-5, "high": 1.0, "step": None, "log": False,
                    "choices": None, "values": None},
             "bs": {"type": "int", "low": 16, "high": 256, "step": None, "log": False,
                    "choices": None, "values": None},
             "arch": {"type": "categorical", "choices": ["LeNet", "MLP", "SmallCNN"],
                      "low": None, "high": None, "step": None, "log": False, "values": None}}
    top = [{"lr": 1e-3, "bs": 64, "arch": "LeNet"}, {"lr": 4e-3, "bs": 96, "arch": "SmallCNN"}]
    fine = narrow(space, top)
    assert 1e-5 < fine["lr"]["low"] < 1e-3 and 4e-3 < fine["lr"]["high"] < 1.0
    assert fine["lr"]["high"] / fine["lr"]["low"] < 50  # far narrower than 1e5
    assert 16 <= fine["bs"]["low"] <= 64 and 96 <= fine["bs"]["high"] <= 256
    assert fine["arch"]["choices"] == ["LeNet", "SmallCNN"]


def test_coarse_to_fine_runs_both_stages_and_trains_the_winner(tmp_path):
    from paddle_suite.tuning.refine import coarse_to_fine
    path = write(tmp_path, "study: {name: c2f, sampler: random, n_trials: 3, seed: 2}\n",
                 "space:\n  Optimizer.lr.learning_rate: {type: loguniform, low: 1.0e-5, "
                 "high: 1.0e-1}\n")
    result = coarse_to_fine(load_search(path), str(tmp_path / "logs"), top_k=2, fine_trials=2,
                            final_epochs=3)
    low, high = (result["fine_space"]["Optimizer.lr.learning_rate"][k] for k in ("low", "high"))
    assert high / low < 1e4  # narrower than the coarse 1e-5..1e-1
    assert result["fine"]["trials"] == 2
    assert result["final_summary"]["epochs_run"] == 3


def test_linked_keys_move_together_and_are_each_validated(tmp_path):
    from paddle_suite.config.search_space import overrides_for
    assert overrides_for("a.b, c.d", 448) == ["a.b=448", "c.d=448"]
    search = load_search(ROOT_CONFIGS / "search" / "cub_bilinear_sweep.yaml")
    assert len(search["space"]) == 3
    path = write(tmp_path, "study: {name: linked}\n", "space:\n  \"Global.epochs,Global.epohcs\":"
                 " {type: categorical, choices: [1, 2]}\n")
    with pytest.raises(ConfigError, match='did you mean "epochs"'):
        load_search(path)


def test_trials_scored_over_seeds_take_the_mean_of_each_seeds_final_value(tmp_path):
    path = write(tmp_path, "study: {name: seeded, sampler: random, n_trials: 2, seed: 2, "
                 "seeds: [1, 2], score: final, baseline: true}\n",
                 "space:\n  Optimizer.lr.learning_rate: {type: loguniform, low: 1.0e-3, "
                 "high: 1.0e-2}\n")
    search = load_search(path)
    search["overrides"] = [o for o in search["overrides"] if o != "Global.epochs=2"] + \
        ["Global.epochs=1", "DataLoader.Train.max_samples=400"]
    result = run_search(search, str(tmp_path / "logs"))
    folder = tmp_path / "logs" / "seeded"
    assert result["completed"] == 2 and result["epochs_trained"] == 4
    study = optuna.load_study(study_name="seeded", storage=f"sqlite:///{folder / 'study.db'}")
    for trial in study.get_trials():
        finals = []
        for seed, run in zip([1, 2], trial.user_attrs["run_dirs"]):
            assert run.endswith(f"trial-{trial.number:03d}/seed-{seed}")  # a seed group
            summary = json.loads((Path(run) / "summary.json").read_text())
            assert yaml.safe_load((Path(run) / "config.yaml").read_text())["Global"]["seed"] == seed
            finals.append(summary["final_eval"]["acc"])
        assert trial.user_attrs["seed_values"] == pytest.approx(finals)
        group = json.loads((folder / f"trial-{trial.number:03d}" / "group.json").read_text())
        assert group["seeds"] == [1, 2] and group["mean"] == pytest.approx(sum(finals) / 2)
        assert trial.value == pytest.approx(sum(finals) / 2)
    first = study.get_trials()[0]  # the base config's own LR, scored the same way
    assert first.user_attrs["baseline"] and first.params == {"Optimizer.lr.learning_rate": 2e-3}
    header = (folder / "trials.csv").read_text().splitlines()[0]
    assert "seed_values" in header and "baseline" in header
    path.write_text(path.read_text().replace("seeds: [1, 2]", "seeds: [1, 1]"))
    with pytest.raises(ConfigError, match=r"study.seeds: \[1, 1\] repeats a seed"):
        load_search(path)
    path.write_text(path.read_text().replace("seeds: [1, 1]", "seeds: [1]")
                    .replace("low: 1.0e-3", "low: 3.0e-3"))
    with pytest.raises(ConfigError, match=r"study.baseline: the base config's Optimizer.lr."
                       r"learning_rate is 0.002, outside space"):
        load_search(path)


def test_the_pruner_waits_for_warmup_epochs_before_judging_a_trial():
    from paddle_suite.tuning.search import _pruner
    study = optuna.create_study(direction="maximize", pruner=_pruner(
        {"pruner": "median", "startup_trials": 1, "warmup_epochs": 15}))
    good = study.ask()
    for epoch in range(1, 26):
        good.report(0.98, epoch)
    study.tell(good, 0.98)
    poor = study.ask()
    poor.report(0.5, 3)
    assert not poor.should_prune()  # an early epoch does not rank a cosine run's end
    poor.report(0.5, 16)
    assert poor.should_prune()


def test_tune_takes_overrides_and_a_copied_config_finds_its_base(tmp_path):
    """A search config copied out of the checkout keeps working (`base:` falls back to the
    current directory and the suite), and -o shortens it like every other tool."""
    copied = tmp_path / "elsewhere" / "my_search.yaml"
    copied.parent.mkdir()
    copied.write_text((ROOT_CONFIGS / "search" / "lenet_lr_wd.yaml").read_text())
    search = load_search(copied, ["study.n_trials=1", "study.name=quick", "Global.epochs=1"])
    assert search["base"] == (ROOT_CONFIGS / "lenet.yaml").resolve()
    assert search["study"]["n_trials"] == 1 and search["study"]["name"] == "quick"
    assert search["overrides"][-1] == "Global.epochs=1"
    with pytest.raises(ConfigError, match=r"study: .*n_trialz|did you mean \"n_trials\""):
        load_search(copied, ["study.n_trialz=1"])
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "tune.py"), "-c", str(copied),
         "--output-dir", str(tmp_path / "logs"), "-o", "study.n_trials=1",
         "-o", "study.name=quick", "-o", "Global.epochs=1", *sum(
             (["-o", o] for o in ["DataLoader.classes=[0, 1]", "Arch.class_num=2",
                                  "Metric.topk=[1]"]), [])],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 trials (1 completed" in proc.stdout
    assert (tmp_path / "logs" / "quick" / "trials.md").is_file()


def test_a_base_found_nowhere_names_every_folder_tried(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("base: no_such.yaml\nstudy: {name: x}\nspace: {}\n")
    with pytest.raises(ConfigError, match=r"base: 'no_such.yaml' is not a file .*tried"):
        load_search(path)
