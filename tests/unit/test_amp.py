"""Mixed precision (the `AMP` section): what a CPU machine can check.

Paddle 3.3.1 switches autocast and the loss scaler off on a CPU (first test), so the suite
refuses `use_amp` there with a clear error instead of training float32 under an AMP config;
the GPU path is exercised by `bench/amp_check.py` on a machine with a GPU.
"""
import subprocess
import sys
import warnings

import numpy as np
import paddle
import pytest

from paddle_suite import ConfigError, load_config
from paddle_suite.callbacks.nan_guard import likely_cause
from paddle_suite.errors import OptionError
from paddle_suite.lifecycle.engine import train
from paddle_suite.training.amp import (
    AMPOptions,
    amp_device_problem,
    attach_loss_scaler,
    autocast_forward,
    check_amp,
    hapi_amp_configs,
    loss_scale,
    require_amp_device,
    step_skipped,
)

from ..conftest import LENET, ROOT

PADDLECLAS_RESNET18 = ROOT / "tests" / "paddleclas_configs" / "ResNet18.yaml"


def amp(**changes) -> dict:
    return check_amp({**AMPOptions().__dict__, **changes})


def test_paddle_autocast_and_scaler_do_nothing_on_a_cpu():
    """The library behaviour behind the CPU refusal: float16 autocast leaves a conv in
    float32 (with a warning) and an enabled GradScaler turns itself off."""
    paddle.set_device("cpu")
    conv = paddle.nn.Conv2D(1, 2, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with paddle.amp.auto_cast(level="O1", dtype="float16"):
            out = conv(paddle.ones([1, 1, 5, 5]))
        scaler = paddle.amp.GradScaler(enable=True)
    assert out.dtype == paddle.float32
    assert any("can only be enabled on CUDAPlace" in str(w.message) for w in caught)
    assert not scaler.is_enable() and scaler.state_dict() == {}
    # paddle.amp.is_bfloat16_supported() is True on a CPU with avx512_bf16 and False on
    # others, while autocast stays off on both: the suite never asks the probe for a CPU.


@pytest.mark.parametrize("probe", [True, False])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_a_cpu_is_refused_whatever_the_capability_probe_answers(dtype, probe):
    problem = amp_device_problem(dtype, "cpu", probe_says_supported=probe)
    assert problem and "this run is on the CPU" in problem


def test_an_accelerator_follows_its_probe():
    assert amp_device_problem("bfloat16", "gpu", probe_says_supported=True) is None
    problem = amp_device_problem("bfloat16", "gpu", probe_says_supported=False)
    assert "this gpu does not support bfloat16" in problem and "dtype: float16" in problem


@pytest.mark.parametrize("dtype, needs", [("float16", "compute capability 7.0"),
                                          ("bfloat16", "compute capability 8.0")])
def test_use_amp_on_a_cpu_is_refused_naming_what_is_needed(dtype, needs):
    with pytest.raises(OptionError) as info:
        require_amp_device(amp(use_amp=True, dtype=dtype), "cpu")
    text = str(info.value)
    assert needs in text and "this run is on the CPU" in text and "AMP.use_amp: false" in text
    require_amp_device(amp(), "cpu")  # off: nothing to check


def test_the_cli_refuses_amp_on_a_cpu_before_any_run_directory(tmp_path):
    logs = tmp_path / "logs"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "train.py"), "-c", str(LENET),
         "-o", f"Global.output_dir={logs}", "-o", "AMP.use_amp=true",
         "-o", "AMP.dtype=bfloat16"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: AMP.use_amp: bfloat16 mixed precision needs")
    assert "Traceback" not in proc.stderr and not logs.exists()


def test_a_paddleclas_amp_section_is_read_and_refused_on_a_cpu(tmp_path):
    overrides = ["AMP.use_amp=True", f"Global.output_dir={tmp_path / 'out'}",
                 "Global.epochs=1"]
    cfg = load_config(PADDLECLAS_RESNET18, overrides)
    assert cfg["AMP"] == {"use_amp": True, "dtype": "float16", "level": "O1",
                          "scale_loss": 128.0, "use_dynamic_loss_scaling": True,
                          "use_promote": False, "use_fp16_test": False}
    with pytest.raises(ConfigError, match="float16 mixed precision needs an NVIDIA GPU"):
        train(cfg)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("overrides, message", [
    (["AMP.use_amp=true", "AMP.level=O2"], r"AMP.level: O2 .* not supported"),
    (["AMP.use_amp=true", "AMP.use_fp16_test=true"], r"AMP.use_fp16_test: evaluation runs"),
    (["AMP.use_amp=true", "AMP.scale_loss=0"], r"AMP.scale_loss: must be a positive"),
    (["AMP.dtype=half"], r"AMP.dtype: 'half' is not one of 'float16', 'bfloat16'"),
    (["AMP.use_ampp=true"], r'did you mean "use_amp"'),
    (["AMP.use_amp=true", "Global.to_static=true"], r"not combined with Global.to_static"),
])
def test_bad_amp_sections(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(LENET, overrides)


def test_amp_is_off_by_default_and_resolved_into_the_config():
    assert load_config(LENET)["AMP"]["use_amp"] is False


def test_hapi_accepts_the_amp_configs_and_the_scaler_is_the_one_it_uses():
    net = paddle.nn.Linear(4, 2)
    model = paddle.Model(net)
    opt = paddle.optimizer.SGD(parameters=net.parameters())
    for section, expected in [
            (amp(use_amp=True), {"level": "O1", "init_loss_scaling": 65536.0,
                                 "use_dynamic_loss_scaling": True}),
            (amp(use_amp=True, dtype="bfloat16"), {"level": "O1", "init_loss_scaling": 1.0,
                                                   "use_dynamic_loss_scaling": False})]:
        configs = hapi_amp_configs(section)
        assert configs == expected
        model.prepare(opt, paddle.nn.CrossEntropyLoss(), amp_configs=configs)
        assert model._adapter._amp_level == "O1"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scaler = attach_loss_scaler(model, configs)
        assert model._scaler is scaler
        assert loss_scale(scaler) is None and not step_skipped(scaler)  # off on this CPU
    assert hapi_amp_configs(amp()) is None and attach_loss_scaler(model, None) is None


def test_autocast_forward_keeps_names_and_the_float32_eval_path():
    paddle.seed(0)
    net = paddle.vision.models.LeNet()
    names = list(net.state_dict())
    x = paddle.randn([2, 1, 28, 28])
    net.eval()
    before = net(x).numpy()
    autocast_forward(net, amp(use_amp=True))
    assert list(net.state_dict()) == names
    np.testing.assert_array_equal(net(x).numpy(), before)  # eval: the plain forward
    net.train()
    out = net(x)
    assert out.dtype == paddle.float32
    np.testing.assert_allclose(out.numpy(), before, rtol=1e-6)  # CPU: autocast is a no-op


def test_the_nan_guard_names_float16_overflow():
    text = likely_cause(40, [0.5, 0.4], 1e-3, float16=True)
    assert "float16" in text and "bfloat16" in text
    assert "float16" not in likely_cause(40, [0.5, 0.4], 1e-3)


def test_outputs_come_back_float32_whatever_their_structure():
    from paddle_suite.training.amp import _float32
    half = paddle.ones([2, 3]).astype("float16")
    single, pair = _float32(half), _float32((half, [half]))
    assert single.dtype == paddle.float32
    assert isinstance(pair, tuple) and pair[0].dtype == pair[1][0].dtype == paddle.float32
