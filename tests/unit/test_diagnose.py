"""Learning-curve diagnosis on scripted curves: each classic case is named."""
from paddle_suite.training.diagnosis import diagnose


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


def test_nan_and_rising_loss_mean_the_lr_is_too_high():
    assert cases(diagnose(rows([1.0, 0.8, float("nan")]))) == ["LR too high"]
    assert cases(diagnose(rows([1.0, 0.5, 0.9, 2.5]))) == ["LR too high"]


# A real run of configs/lenet.yaml at Adam LR 0.1 (bench/advice_panel.py): a spike, then a
# network that outputs the same scores for every image.
COLLAPSED = rows([7.7238, 2.3650, 2.3512, 2.3460, 2.3127, 2.3032],
                 [2.3992, 2.3363, 2.4189, 2.3195, 2.3194, 2.3011],
                 [0.104, 0.106, 0.107, 0.107, 0.104, 0.113],
                 [0.095, 0.113, 0.107, 0.107, 0.098, 0.113])


def test_a_collapse_to_chance_without_weight_records_names_both_causes_and_the_test():
    """Curves alone cannot tell an LR that killed the units from a weight decay that
    pulled the weights to zero: both are named, with the two runs that tell them apart;
    a run without weight decay leaves only the LR."""
    found = diagnose(COLLAPSED, num_classes=10)
    assert cases(found) == ["LR too high or weight decay too strong"]
    assert found[0]["certainty"] == "two causes" and "collapsed" in found[0]["evidence"]
    assert "Optimizer.regularizer=null" in found[0]["action"] and "tenth of the LR" in \
        found[0]["action"]
    found = diagnose(COLLAPSED, num_classes=10, setup={"weight_decay": 0.0})
    assert cases(found) == ["LR too high"] and "lower the learning rate" in found[0]["action"]


def with_weights(curves, starts, ends, ratios):
    return [{**row, "weight_norm_start": a, "weight_norm": b, "update_ratio": r}
            for row, a, b, r in zip(curves, starts, ends, ratios)]


# Real runs of configs/lenet.yaml, 5 and 10 epochs: Adam at LR 0.1, and L2 0.5 at the
# recipe's LR 2e-3. Both end with the same scores for every image at chance accuracy and a
# loss at ln 10; the weights' records differ.
ADAM_HIGH_LR = with_weights(
    rows([3.075, 2.3066, 2.3054, 2.3027, 2.3013], [2.3049, 2.3064, 2.3021, 2.3016, 2.301],
         [0.1031, 0.1026, 0.1001, 0.1044, 0.1128], [0.1125, 0.098, 0.1125, 0.1125, 0.1125]),
    [18.5067, 91.2268, 77.6313, 71.8129, 69.6385], [91.2268, 77.6313, 71.8129, 69.6385, 69.2943],
    [0.1571, 0.002574, 0.001341, 0.0005027, 8.484e-05])
HEAVY_L2 = with_weights(
    rows([2.2688] + [2.3021] * 9, [2.302] * 10, [0.2114] + [0.11] * 9, [0.1125] * 10),
    [18.5067, 2.57604, 1.49229, 1.02866, 0.75395, 0.586222, 0.485133, 0.426766, 0.396763,
     0.385181],
    [2.57604, 1.49229, 1.02866, 0.75395, 0.586222, 0.485133, 0.426766, 0.396763, 0.385181,
     0.383424],
    [0.02127, 0.006203, 0.003493, 0.002916, 0.002417, 0.001954, 0.001353, 0.0007774,
     0.0003226, 5.216e-05])


def test_the_weights_records_tell_a_high_lr_from_heavy_weight_decay():
    dead = {"output_spread": 0.0, "weight_decay": 1e-4}
    found = diagnose(ADAM_HIGH_LR, 10, setup=dead)
    assert cases(found) == ["LR too high"] and found[0]["certainty"] == "clear"
    assert "from 18.51 to 69.29" in found[0]["evidence"] and "0.16 of their size" in \
        found[0]["evidence"]
    found = diagnose(HEAVY_L2, 10, setup={**dead, "weight_decay": 0.5})
    assert cases(found) == ["weight decay too strong"] and found[0]["certainty"] == "clear"
    assert "from 18.51 to 0.3834" in found[0]["evidence"]
    assert "lower the weight decay 10x" in found[0]["action"]


def test_updates_as_big_as_the_weights_are_an_lr_too_high_even_without_a_clean_collapse():
    """A real run of a batch-norm CNN under AdamW at LR 3.0 (2 threads): one evaluation
    reached 0.33, so it is no clean collapse, and its loss fell every epoch; the first
    epoch's updates were 4.3 times the weights' norm."""
    run = with_weights(rows([4.2114, 3.1005, 2.5247, 2.4233], [2.369, 2.407, 1.9745, 2.3539],
                            [0.1, 0.1, 0.3, 0.1], [0.1015, 0.1, 0.3275, 0.107]),
                       [17.3452, 130.257, 388.948, 491.445], [130.257, 388.948, 491.445, 28.0096],
                       [4.328, 0.05743, 0.03949, 0.03187])
    found = diagnose(run, 10, setup={"output_spread": 0.0, "weight_decay": 0.01})
    assert cases(found) == ["LR too high"] and "4.3 of their size" in found[0]["evidence"]


def test_weights_shrinking_before_a_collapse_is_the_decay_not_underfitting():
    """The heavy-L2 run stopped after 4 epochs: not yet constant (spread 0.2), accuracy
    low, the norm at 4% of its start."""
    found = diagnose(HEAVY_L2[:4], 10, setup={"output_spread": 0.2, "weight_decay": 0.5})
    assert cases(found)[0] == "weight decay too strong"
    assert "underfitting" not in cases(found)


def test_flat_at_chance_with_a_symmetric_init_is_the_init():
    flat = rows([2.3019, 2.3012, 2.3009, 2.3009], [2.3011, 2.3009, 2.3008, 2.3008],
                [0.11, 0.113, 0.113, 0.113], [0.113] * 4)
    found = diagnose(flat, num_classes=10, setup={"init": "zeros"})
    assert cases(found) == ["not learning"] and "xavier" in found[0]["action"]
    assert cases(diagnose(flat, num_classes=10)) != ["LR too high"]  # no spike: not a collapse


def test_a_loss_that_falls_slowly_every_epoch_means_the_lr_is_too_low():
    slow = rows([3.68, 3.43, 3.27, 3.17, 3.12, 3.11], [3.49, 3.29, 3.15, 3.07, 3.04, 3.04],
                [0.15, 0.15, 0.16, 0.15, 0.16, 0.16], [0.18, 0.18, 0.19, 0.19, 0.19, 0.19])
    found = diagnose(slow, num_classes=10)
    assert cases(found) == ["LR too low"] and "raise the learning rate" in found[0]["action"]


def test_plateau_at_constant_lr_asks_for_decay():
    evals = [1.0, 0.6, 0.4, 0.35, 0.35, 0.351, 0.352, 0.35, 0.353]
    found = diagnose(rows([0.9] * 9, evals))
    assert "plateau" in cases(found)


def test_early_decay_is_named():
    lr = [0.1, 0.1, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001]
    loss = [2.0, 1.4, 1.0, 0.995, 0.99, 0.99, 0.99, 0.99, 0.99]  # stalls after the drop
    assert "LR decayed too early" in cases(diagnose(rows(loss, loss, lr=lr)))


def test_gap_cases_and_healthy_curves():
    over = diagnose(rows([1, 0.5, 0.1], [1, 0.6, 0.7], [0.7, 0.9, 1.0], [0.7, 0.85, 0.9]))
    assert "overfitting" in cases(over)
    under = diagnose(rows([1.5, 1.3, 1.31, 1.3], [1.5, 1.3, 1.3, 1.3], [0.5, 0.6, 0.6, 0.6],
                          [0.5, 0.59, 0.59, 0.59]))  # flattened at a low accuracy
    assert "underfitting" in cases(under)
    healthy = diagnose(rows([1, 0.5, 0.2], [1, 0.5, 0.25], [0.8, 0.95, 0.97], [0.8, 0.94, 0.96]))
    assert cases(healthy) == ["healthy"]


def test_a_collapse_without_a_spike_is_told_by_the_constant_output():
    """A real run at Adam LR 0.01: the first epoch's loss is barely above ln C, so only the
    network's output (the same scores for every eval image) shows the collapse."""
    import numpy as np

    from paddle_suite.training.diagnosis import output_spread
    train = [2.4956, 2.3078, 2.3088, 2.3077, 2.3049, 2.3048, 2.3045, 2.3037]
    evals = [2.3064, 2.3084, 2.3053, 2.3019, 2.3046, 2.3064, 2.3019, 2.3030]
    accs = [0.1, 0.098, 0.1, 0.107, 0.1125, 0.1, 0.1125, 0.1]
    curves = rows(train, evals, accs, accs)
    dead = np.tile([0.1, 0.09, 0.11, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], (50, 1))
    found = diagnose(curves, 10, setup={"output_spread": output_spread(dead),
                                        "weight_decay": 0.0})
    assert cases(found) == ["LR too high"] and "same scores" in found[0]["evidence"]
    alive = np.random.default_rng(0).dirichlet(np.ones(10), 50)
    assert cases(diagnose(curves, 10, setup={"output_spread": output_spread(alive)})) != \
        ["LR too high"]
