import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GLOG_minloglevel", "2")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import paddle  # noqa: F401,E402

from paddle_suite import load_config  # noqa: E402

LENET = ROOT / "configs" / "lenet.yaml"

# End-to-end checks that take many seconds each: marked `slow`, left out of the README's
# test command (pyproject's addopts) and run by CI's second step (`pytest -m slow`).
SLOW = (
    "tests/integration/test_distributed.py",
    "tests/integration/test_preemption.py",
    "tests/integration/test_hostile_runs.py::test_tools_that_cannot_write_exit_2_naming_the_file",
    "tests/integration/test_export.py::test_cli_export_then_infer_with_bad_images_named",
    "tests/integration/test_export.py::test_an_export_never_overwrites_another_runs_export",
    "tests/integration/test_search.py::test_tune_takes_overrides_and_a_copied_config_finds",
    "tests/integration/test_two_nodes.py",
    "tests/integration/test_elastic.py",
    "tests/integration/test_readme.py",
    "tests/integration/test_hostile_runs.py::test_resume_through_the_flag_writes_byte_identical",
    "tests/unit/test_config_fuzz.py::test_every_key_of_other_configs",
    "tests/integration/test_deploy_consumers.py",
    "tests/integration/test_paddleclas_networks.py",
    "tests/integration/test_amp_check.py::test_the_amp_check_harness_runs_on_a_cpu",
    "tests/integration/test_reproduce.py",
    "tests/integration/test_epoch_bytes.py",
    "tests/integration/test_train.py::test_to_static_trains_the_same_network",
    "tests/integration/test_paddleclas_training.py",
    "tests/integration/test_search_postgres.py",
    "tests/integration/test_visualdl_browser.py",
    "tests/integration/test_resume.py::test_runs_killed_at_random_moments",
    "tests/integration/test_resume.py::test_kills_during_saving",
    "tests/integration/test_interpret.py::test_saliency_works_for_a_three_channel_zoo_model",
    "tests/integration/test_search.py::test_coarse_to_fine",
    "tests/integration/test_search.py::test_a_tiny_random_search",
    "tests/integration/test_search.py::test_two_workers_on_one_sqlite_study",
    "tests/integration/test_search.py::test_a_killed_worker_trial",
    "tests/integration/test_search.py::test_trials_scored_over_seeds",
    "tests/integration/test_hostile_runs.py::test_two_resumes_at_once",
    "tests/integration/test_hostile_runs.py::test_every_schedule_resumes_exactly",
    "tests/integration/test_hostile_runs.py::test_a_full_disk",
    "tests/integration/test_data_failures.py::test_paddle_dataloader_hangs",
    "tests/unit/test_hostile_files.py::test_the_memory_bomb_stays_within_budget",
    "tests/integration/test_tuning.py::test_sanity_and_lr_find_tools_run",
    "tests/integration/test_train.py::test_transfer_table_has_every_mode_for_every_k",
    "tests/integration/test_cli.py::test_train_then_eval_from_the_command_line",
    "tests/integration/test_check_data.py::test_injected_faults_are_found",
    "tests/integration/test_tuning.py::test_a_failed_tiny_overfit_says_which_way",
    "tests/integration/test_interpret.py::test_interpretdl_agrees_with_the_suites_maps",
    "tests/integration/test_interpret.py::test_interpretdl_backend_explains",
    "tests/integration/test_interpret.py::test_saliency_callback_writes_maps_every_n_epochs",
    "tests/integration/test_resume.py::test_training_a_finished_run_longer_never_runs_at_lr",
    "tests/integration/test_train.py::test_transfer_from_mnist_to_sklearn_digits",
    "tests/integration/test_train.py::test_same_seed_repeats_exactly",
    "tests/integration/test_control.py::test_snapshots_then_ensemble_tool",
    "tests/integration/test_train.py::test_eval_cadence_every_n_epochs_and_every_n_steps",
    "tests/integration/test_hostile_runs.py::test_resume_finishes_a_run_killed_while_writing",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)


def tiny_overrides(out_dir, epochs=1, **extra):
    """Overrides for a fast real run: digits 0 and 1 only (about 1,700 training images)."""
    items = {
        "Global.output_dir": str(out_dir), "Global.epochs": epochs, "Global.log_interval": 5,
        "DataLoader.classes": "[0, 1]", "Arch.class_num": 2, "Metric.topk": "[1]",
        "DataLoader.Train.batch_size": 128, "DataLoader.Eval.batch_size": 500,
        **extra,
    }
    return [f"{k}={v}" for k, v in items.items()]


_PEAK_PROBE = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], "
               "capture_output=True, text=True); "
               "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
               "print(p.stdout); print(p.stderr)")


def run_with_peak(argv, timeout=300, **kwargs):
    """Run argv in a fresh process (through a probe process of its own, so no earlier child
    counts): (exit status, its stdout + stderr, its peak resident memory in GiB)."""
    out = subprocess.run([sys.executable, "-c", _PEAK_PROBE, *map(str, argv)],
                         capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"}, **kwargs)
    code, peak_kb = out.stdout.split("\n", 1)[0].split()
    return int(code), out.stdout, int(peak_kb) / 2**20


@pytest.fixture
def train_main():
    """tools/train.py's main(argv), loaded from the file as the CLI runs it."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("tools_train", ROOT / "tools" / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.fixture
def tiny_cfg(tmp_path):
    def make(epochs=1, **extra):
        return load_config(LENET, tiny_overrides(tmp_path / "logs", epochs, **extra))
    return make


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    @property
    def text(self):
        return "\n".join(self.messages)


@pytest.fixture
def suite_log():
    """Records of the `paddle_suite` logger (which the CLI stops propagating to the root)."""
    logger = logging.getLogger("paddle_suite")
    handler, level = _Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
