"""Schedules step on the configured clock; optimizers and regularizers build from config."""
import paddle
import pytest

from paddle_suite import ConfigError, load_config
from paddle_suite.errors import OptionError
from paddle_suite.training.optim import build_optimizer, build_schedule, current_lr

from ..conftest import LENET


def lr_section(name, step_on="epoch", warmup=0, **options):
    cfg = load_config(LENET, [f"Optimizer.lr.name={name}", f"Optimizer.lr.step_on={step_on}",
                              f"Optimizer.lr.warmup_epoch={warmup}", "Global.epochs=10",
                              "Optimizer.lr.learning_rate=1e-3"] +
                      [f"Optimizer.lr.{k}={v}" for k, v in options.items()])
    return cfg["Optimizer"]["lr"]


def trace(schedule, ticks):
    values = []
    for _ in range(ticks):
        values.append(current_lr(schedule))
        if hasattr(schedule, "step"):
            schedule.step()
    return values


def test_multistep_milestones_are_epochs_on_either_clock():
    per_epoch, _ = build_schedule(lr_section("MultiStep", milestones="[3, 6]", gamma=0.1), 10, 5)
    values = trace(per_epoch, 10)
    assert values[2] == pytest.approx(1e-3) and values[3] == pytest.approx(1e-4)
    assert values[6] == pytest.approx(1e-5)
    per_step, clock = build_schedule(lr_section("MultiStep", "step", milestones="[3, 6]"), 10, 5)
    values = trace(per_step, 50)
    assert clock.per_epoch == 5
    assert values[14] == pytest.approx(1e-3) and values[15] == pytest.approx(1e-4)


def test_cosine_reaches_zero_after_all_updates_and_warmup_ramps():
    sched, _ = build_schedule(lr_section("Cosine", "step"), 10, 4)
    values = trace(sched, 41)
    assert values[0] == pytest.approx(1e-3) and values[40] == pytest.approx(0.0, abs=1e-12)
    warm, _ = build_schedule(lr_section("Cosine", "epoch", warmup=2, warmup_start_lr=0), 10, 4)
    values = trace(warm, 10)
    assert values[0] == 0 and values[1] == pytest.approx(5e-4) and values[2] == pytest.approx(1e-3)
    assert values[3] < 1e-3


def test_fractional_epochs_need_the_step_clock():
    with pytest.raises(ConfigError, match="use step_on: step"):
        build_schedule(lr_section("Step", step_size=0.5), 10, 4)
    sched, _ = build_schedule(lr_section("Step", "step", step_size=0.5), 10, 4)
    assert trace(sched, 3)[2] == pytest.approx(1e-4)


@pytest.mark.parametrize("name", ["Constant", "Step", "MultiStep", "Exponential", "Polynomial",
                                  "Linear", "Cosine", "CosineWarmRestarts", "Cyclic", "OneCycle"])
def test_every_schedule_builds_and_gives_finite_positive_rates(name):
    sched, _ = build_schedule(lr_section(name, "step"), 10, 3)
    values = trace(sched, 30)
    assert all(v >= 0 for v in values) and max(values) > 0


@pytest.mark.parametrize("name", ["SGD", "Momentum", "Adagrad", "RMSProp", "Adadelta", "Adam",
                                  "AdamW"])
def test_every_optimizer_takes_a_step(name):
    paddle.seed(0)
    cfg = load_config(LENET, [f"Optimizer.name={name}", "Optimizer.lr.name=Constant",
                              "Optimizer.lr.learning_rate=0.1"] +
                      (["Optimizer.regularizer=null"] if name == "AdamW"
                       else ["Optimizer.regularizer.name=L1"]) +
                      ["Optimizer.grad_clip.name=global_norm"])
    net = paddle.nn.Linear(3, 2)
    before = net.weight.numpy().copy()
    opt = build_optimizer(cfg["Optimizer"], net.parameters(), 0.1)
    net(paddle.ones([4, 3])).sum().backward()
    opt.step()
    assert (net.weight.numpy() != before).any()


SCHEDULE_OPTIONS = {"CosineWarmRestarts": {"T_0": 2, "T_mult": 2},
                    "Cyclic": {"max_learning_rate": 0.01, "step_size_up": 1}}


def test_paddle_schedule_state_dict_loses_the_warm_restart_cycle():
    """Paddle's LRScheduler.state_dict keeps last_epoch/last_lr only: a restored
    CosineAnnealingWarmRestarts starts its cycle again (ScaledLR keeps every attribute)."""
    def make():
        return paddle.optimizer.lr.CosineAnnealingWarmRestarts(0.1, T_0=2, T_mult=2)
    a, b = make(), make()
    for _ in range(3):
        a.step()
    b.set_state_dict(a.state_dict())
    assert trace(a, 4) != trace(b, 4)


@pytest.mark.parametrize("name", sorted(__import__("paddle_suite.training.optim").training.optim.SCHEDULES))
@pytest.mark.parametrize("step_on, warmup", [("epoch", 0), ("step", 0), ("step", 1)])
def test_every_schedule_continues_exactly_from_its_state(name, step_on, warmup):
    from paddle_suite.training.optim import ScaledLR
    section = lr_section(name, step_on, warmup, **SCHEDULE_OPTIONS.get(name, {}))
    first, cut = (3, 4) if step_on == "epoch" else (23, 20)

    def make():
        return ScaledLR(build_schedule(section, 10, 5)[0], scale=0.5)
    a, b = make(), make()
    trace(a, first)
    b.set_state_dict(a.state_dict())
    assert trace(a, cut) == trace(b, cut)


def test_fractional_milestones_are_checked_against_the_real_updates_per_epoch():
    section = lr_section("MultiStep", "step", milestones="[0.3333333333333333, 2]")
    schedule, _ = build_schedule(section, 10, 6)  # 6 updates per epoch: 1/3 epoch = 2
    assert schedule.milestones == [2, 12]
    with pytest.raises(OptionError, match="with 5 updates per epoch it is 1.66667 updates"):
        build_schedule(section, 10, 5)


def test_durations_in_updates_land_on_those_updates():
    section = lr_section("MultiStep", "step", milestones="[7, 23]", unit="update")
    schedule, _ = build_schedule(section, 10, 6)
    assert schedule.milestones == [7, 23]
    with pytest.raises(ConfigError, match="unit: update .* needs Optimizer.lr.step_on: step"):
        build_schedule(lr_section("MultiStep", "epoch", milestones="[7]", unit="update"), 10, 6)
