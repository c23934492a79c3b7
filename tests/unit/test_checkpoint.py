"""Atomic writes, the restricted weights loader, run directories that never clobber."""
import os
import pickle
import time

import numpy as np
import pytest

from paddle_suite import load_config
from paddle_suite.errors import ConfigError, UserError
from paddle_suite.models import LeNet
from paddle_suite.runs.checkpoint import (
    UnsafeFileError,
    atomic_save,
    load_into,
    load_weights,
)
from paddle_suite.runs.rundir import create_run_dir, resolve_latest

from ..conftest import LENET


def test_atomic_save_round_trips_and_leaves_no_temp_files(tmp_path):
    net = LeNet()
    atomic_save(net.state_dict(), tmp_path / "w.pdparams")
    other = LeNet()
    load_into(other, tmp_path / "w.pdparams")
    assert all(np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(net.parameters(), other.parameters()))
    assert os.listdir(tmp_path) == ["w.pdparams"]


class Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_malicious_pickle_is_refused_and_its_payload_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pdparams"
    path.write_bytes(pickle.dumps({"fc.weight": Payload()}))
    with pytest.raises(UnsafeFileError, match="posix.system|os.system"):
        load_weights(path)
    assert not (tmp_path / "PWNED").exists()


def test_truncated_and_mismatched_weights_are_named(tmp_path):
    atomic_save(LeNet().state_dict(), tmp_path / "w.pdparams")
    data = (tmp_path / "w.pdparams").read_bytes()
    (tmp_path / "cut.pdparams").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="cut.pdparams: not a readable weights"):
        load_weights(tmp_path / "cut.pdparams")
    with pytest.raises(UserError, match="does not fit the configured model.*shape mismatch"):
        load_into(LeNet(class_num=3), tmp_path / "w.pdparams")


def test_run_directories_never_clobber_each_other(tmp_path):
    frozen = time.localtime()
    dirs = {create_run_dir(tmp_path, "exp", clock=lambda: frozen) for _ in range(3)}
    assert len(dirs) == 3 and all(d.is_dir() for d in dirs)


def test_safetensors_weights_load_into_a_model(tmp_path):
    from safetensors.numpy import save_file
    net = LeNet()
    save_file({k: v.numpy() for k, v in net.state_dict().items()}, str(tmp_path / "w.safetensors"))
    other = LeNet()
    load_into(other, tmp_path / "w.safetensors")
    assert all(np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(net.parameters(), other.parameters()))


def test_latest_stands_for_the_newest_run_wherever_a_run_path_is_taken(tmp_path):
    exp = tmp_path / "logs" / "exp"
    for i, name in enumerate(["b-old", "a-new"]):  # the newest by start, not by name
        (exp / name / "inference").mkdir(parents=True)
        (exp / name / "config.yaml").write_text("{}\n")
        os.utime(exp / name / "config.yaml", (1000 + i, 1000 + i))
    (exp / "notes").mkdir()  # not a run: no config.yaml
    assert resolve_latest(str(exp / "latest" / "inference")) == str(exp / "a-new" / "inference")
    assert resolve_latest(exp / "b-old") == exp / "b-old" and resolve_latest(None) is None
    with pytest.raises(ValueError, match="no run directory under .*nothing"):
        resolve_latest(tmp_path / "nothing" / "latest")
    cfg = load_config(LENET, [f"Global.pretrained_model={exp / 'latest'}"])
    assert cfg["Global"]["pretrained_model"] == str(exp / "a-new")
    with pytest.raises(ConfigError, match="Arch.pretrained: .*no run directory"):
        load_config(LENET, [f"Arch.pretrained={tmp_path / 'latest'}"])


def test_one_rule_for_which_weights_a_path_means(tmp_path):
    from paddle_suite.runs.checkpoint import weights_path
    ckpt = tmp_path / "run" / "checkpoints"
    ckpt.mkdir(parents=True)
    for name in ("best.pdparams", "last.pdparams"):
        (ckpt / name).write_bytes(b"x")
    assert weights_path(tmp_path / "run") == ckpt / "last.pdparams"  # unfinished: newest
    (ckpt / "final.pdparams").write_bytes(b"x")
    assert weights_path(tmp_path / "run") == ckpt / "final.pdparams"  # what the run ended with
    assert weights_path(ckpt / "best.pdparams") == ckpt / "best.pdparams"  # named: itself
    assert weights_path(ckpt / "best") == ckpt / "best.pdparams"
    with pytest.raises(UserError, match="no checkpoints/final.pdparams"):
        weights_path(tmp_path)
