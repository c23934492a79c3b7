"""Learning-curve diagnosis on scripted curves: each classic case is named."""
from paddle_suite.tuning.diagnose import diagnose


def rows(train_loss, eval_loss=None, train_acc=None, eval_acc=None, lr=None):
    out = []
    for i, loss in enumerate(train_loss):
        row = {"epoch": i + 1, "train_loss": loss, "lr": (lr or [0.01] * len(train_loss))[i]}
        if eval_loss:
            row["eval_loss"] = eval_loss[i]
        if train_acc:
            row["train_acc"], row["eval_acc"] = train_acc[i], eval_acc[i]
        out.append(row)
    return out


def cases(found):
    return [f["case"] for f in found]


def test_nan_and_rising_loss_are_explosions():
    assert "loss explosion" in cases(diagnose(rows([1.0, 0.8, float("nan")])))
    assert "loss explosion" in cases(diagnose(rows([1.0, 0.5, 0.9, 2.5])))


def test_flat_start_near_chance_is_a_bad_init():
    found = diagnose(rows([2.302, 2.301, 2.300, 2.30]), num_classes=10)
    assert "loss flat at the start" in cases(found)
    assert "initialisation" in found[0]["action"]


def test_plateau_at_constant_lr_asks_for_decay():
    evals = [1.0, 0.6, 0.4, 0.35, 0.35, 0.351, 0.352, 0.35, 0.353]
    found = diagnose(rows([0.9] * 9, evals))
    assert "plateau" in cases(found)


def test_early_decay_is_named():
    lr = [0.1, 0.1, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001]
    loss = [2.0, 1.4, 1.0, 0.98, 0.97, 0.96, 0.95, 0.95, 0.95]
    assert "LR decayed too early" in cases(diagnose(rows(loss, loss, lr=lr)))


def test_gap_cases_and_healthy_curves():
    over = diagnose(rows([1, 0.5, 0.1], [1, 0.6, 0.7], [0.7, 0.9, 1.0], [0.7, 0.85, 0.9]))
    assert "overfitting" in cases(over)
    under = diagnose(rows([1.5, 1.4, 1.3], [1.5, 1.4, 1.3], [0.5, 0.55, 0.6], [0.5, 0.55, 0.59]))
    assert "underfitting" in cases(under)
    healthy = diagnose(rows([1, 0.5, 0.2], [1, 0.5, 0.25], [0.8, 0.95, 0.97], [0.8, 0.94, 0.96]))
    assert cases(healthy) == ["healthy"]
