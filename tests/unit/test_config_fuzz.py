"""Every key of a config given a value of every wrong kind (a list, a mapping, text, null,
huge, negative): the config loads or the error is a one-paragraph ConfigError naming the
key, never another exception."""
import pytest

from paddle_suite import load_config
from paddle_suite.errors import ConfigError

from ..conftest import ROOT

WRONG = ["[xavier]", "{a: 1}", "text", "null", "99999999999999999999", "-5", "1e400", "-1.5"]
CONFIGS = ["configs/lenet.yaml", "configs/lenet_averaging.yaml", "configs/lenet_plateau.yaml",
           "tests/paddleclas_configs/ResNet18.yaml"]


def keys_of(value, prefix=""):
    """Every dotted key of a resolved config: sections, mappings, lists and their items."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from keys_of(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from keys_of(item, f"{prefix}[{i}]")


def fuzz(config):
    path = ROOT / config
    others = []
    for key in keys_of(dict(load_config(path))):
        for value in WRONG:
            try:
                load_config(path, [f"{key}={value}"])
            except ConfigError as exc:
                assert "\n" not in str(exc).strip() or len(str(exc)) < 2000
            except Exception as exc:  # noqa: BLE001 - what the test looks for
                others.append(f"{key}={value}: {type(exc).__name__}: {exc}")
    return others


def test_every_key_of_the_default_config_with_every_wrong_kind_of_value():
    assert fuzz(CONFIGS[0]) == []


@pytest.mark.parametrize("config", CONFIGS[1:])
def test_every_key_of_other_configs_with_every_wrong_kind_of_value(config):
    assert fuzz(config) == []
