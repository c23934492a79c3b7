"""An unknown network's hint names the nearest one by family, and says it is another
network, instead of the nearest spelling (PPLCNet is not "LeNet")."""
import pytest

from paddle_suite import load_config
from paddle_suite.errors import ConfigError
from paddle_suite.models import MODELS
from paddle_suite.models.families import nearest_network

from ..conftest import LENET, ROOT


@pytest.mark.parametrize("name, family, nearest", [
    ("PPLCNet_x1_0", "PP-LCNet", "MobileNetV3_small_x1_0"),
    ("PPLCNetV2_base", "PP-LCNetV2", "MobileNetV3_large_x1_0"),
    ("ResNet50_vd", "ResNet50 here is a different network", "ResNet50"),
    ("ResNet18_vd", "ResNet18_vd", "ResNet18"),
    ("PPHGNetV2_B6", "PP-HGNetV2 size", "PPHGNetV2_B4"),
    ("PPHGNet_small", "PP-HGNet, the first version", "PPHGNetV2_B2"),
    ("HRNet_W18_C", "HRNet", "ResNet50"),
    ("GoogLeNet", "Inception", "ResNet50"),
    ("SwinTransformer_tiny_patch4_window7_224", "transformer", "ResNet50"),
])
def test_the_hint_names_the_family_and_the_nearest_network(name, family, nearest):
    hint = nearest_network(name, MODELS)
    assert family in hint and f"nearest in the suite: {nearest}" in hint
    assert "LeNet" not in hint and "another network" in hint


def test_a_misspelling_still_gets_the_spelling_hint():
    assert nearest_network("ResNet19", MODELS) == ' (did you mean "ResNet18"?)'


@pytest.mark.parametrize("config", [LENET, ROOT / "tests" / "paddleclas_configs" /
                                    "ResNet18.yaml"])
def test_both_config_dialects_give_the_family_hint(config):
    with pytest.raises(ConfigError, match=r"PP-LCNetV2.*nearest in the suite: MobileNetV3"):
        load_config(config, ["Arch.name=PPLCNetV2_base"])
