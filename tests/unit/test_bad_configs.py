"""A battery of malformed configs (tests/bad_configs/*.yaml) and overrides.

Each file ends with `# expect: <text>` lines: every text must appear in the error. Every case
must fail through the real CLI entry point with exit status 2, one paragraph, no traceback,
and before any data is read (no run directory appears).
"""
from pathlib import Path

import pytest

from paddle_suite import UserError, load_config
from paddle_suite.cli import run

from ..conftest import LENET, ROOT

BAD = sorted((ROOT / "tests" / "bad_configs").glob("*.yaml"))
OVERRIDES = [
    (["Global.epochs"], "expected Section.key=value"),
    (["Global..epochs=1"], "is not a valid key"),
    (["Global.epochs=[1"], "Global.epochs: expected an integer"),
    (["DataLoader.Train.transforms[9].ToCHW={}"], "index [9] is out of range"),
    (["Arch.name="], "Arch.name: unknown model None"),
    (["Arch.name=[1, 2]"], "Arch.name: unknown model [1, 2]"),
    (["Loss.name={a: 1}"], "Loss.name: unknown loss {'a': 1}"),
    (["Optimizer.lr.name=[Cosine]"], "Optimizer.lr.name: unknown LR schedule ['Cosine']"),
    (["Optimizer.lr.learning_rate=-1"], "must be positive"),
    (["Global.epochs=3", "Global.epochs=abc"], "expected an integer"),
    (["Callbacks.EarlyStopping.monitor=accuracy"], 'did you mean "acc"'),
]


def expectations(path: Path) -> list[str]:
    return [line[len("# expect: "):].strip() for line in path.read_text().splitlines()
            if line.startswith("# expect: ")]



def check(code, err, expected, tmp_path):
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("error: ")
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert not (tmp_path / "logs").exists()  # rejected before any data was read or written


def test_the_battery_has_at_least_40_configs():
    assert len(BAD) >= 40
    assert all(expectations(p) for p in BAD)


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_config_file_is_a_clear_error(path, tmp_path, capsys, train_main):
    override = f"Global.output_dir={tmp_path / 'logs'}"
    with pytest.raises(UserError) as info:  # loading alone rejects it: no data is read
        load_config(path, [override])
    assert all(text in str(info.value) for text in expectations(path)), str(info.value)
    code = run(train_main, ["-c", str(path), "-o", override])
    check(code, capsys.readouterr().err, expectations(path), tmp_path)


@pytest.mark.parametrize("overrides, expected", OVERRIDES, ids=[o[0][0] for o in OVERRIDES])
def test_bad_override_is_a_clear_error(overrides, expected, tmp_path, capsys, train_main):
    argv = ["-c", str(LENET), "-o", f"Global.output_dir={tmp_path / 'logs'}"]
    for item in overrides:
        argv += ["-o", item]
    code = run(train_main, argv)
    check(code, capsys.readouterr().err, [expected], tmp_path)
