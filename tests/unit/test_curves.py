"""PR/ROC curves, confusion matrix and per-class metrics against scikit-learn; the VisualDL
defects they replace."""
import numpy as np
import pytest
from sklearn import metrics as skm

from paddle_suite.visual.curves import (
    confusion_matrix,
    per_class_metrics,
    pr_curve,
    roc_curve,
)

rng = np.random.default_rng(3)
LABELS = rng.integers(0, 2, 300)
SCORES = np.clip(LABELS * 0.35 + rng.random(300) * 0.65, 0, 1)


def test_pr_and_roc_points_equal_scikit_learn_at_every_threshold():
    pr, roc = pr_curve(LABELS, SCORES, 51), roc_curve(LABELS, SCORES, 51)
    for k, t in enumerate(pr["thresholds"]):
        predicted = SCORES >= t
        tn, fp, fn, tp = skm.confusion_matrix(LABELS, predicted, labels=[0, 1]).ravel()
        assert (pr["tp"][k], pr["fp"][k], pr["tn"][k], pr["fn"][k]) == (tp, fp, tn, fn)
        if predicted.any():
            assert pr["precision"][k] == pytest.approx(skm.precision_score(LABELS, predicted))
        assert pr["recall"][k] == pytest.approx(skm.recall_score(LABELS, predicted))
        assert roc["tpr"][k] == pytest.approx(tp / (tp + fn))
        assert roc["fpr"][k] == pytest.approx(fp / (fp + tn))
    fine = roc_curve(LABELS, SCORES, 1001)
    auc = -np.trapezoid(fine["tpr"], fine["fpr"])
    assert auc == pytest.approx(skm.roc_auc_score(LABELS, SCORES), abs=2e-3)


def test_confusion_matrix_and_per_class_metrics_equal_scikit_learn():
    truth = rng.integers(0, 4, 200)
    guess = np.where(rng.random(200) < 0.7, truth, rng.integers(0, 4, 200))
    matrix = confusion_matrix(truth, guess, 4)
    assert (matrix == skm.confusion_matrix(truth, guess, labels=range(4))).all()
    precision, recall, f1, support = skm.precision_recall_fscore_support(truth, guess)
    rows = per_class_metrics(matrix, list("abcd"))
    assert [r["precision"] for r in rows] == pytest.approx(precision)
    assert [r["recall"] for r in rows] == pytest.approx(recall)
    assert [r["f1"] for r in rows] == pytest.approx(f1)
    assert [r["support"] for r in rows] == list(support)


def test_visualdl_cannot_store_boolean_hparams_and_the_suite_can(tmp_path):
    from visualdl import LogWriter

    from paddle_suite.visual.vdl import write_hparams
    with LogWriter(logdir=str(tmp_path / "a")) as writer:
        with pytest.raises(TypeError, match="Expected an int, got a boolean"):
            writer.add_hparams({"Arch.batch_norm": True}, ["eval/acc"])
    with LogWriter(logdir=str(tmp_path / "b")) as writer:
        write_hparams(writer, {"Arch.batch_norm": True, "lr": 0.1}, ["eval/acc"])


def test_visualdl_own_curves_are_broken_on_this_stack():
    """Why visual/vdl.py computes the curves itself. If this fails, VisualDL was fixed."""
    from visualdl.component import base_component as bc
    with pytest.raises(AttributeError, match="float"):
        bc.compute_curve(LABELS, SCORES, 11)  # np.float, removed in numpy 1.24
    np.float = float  # just long enough to see what VisualDL's ROC would say
    try:
        theirs = bc.compute_roc_curve(LABELS, SCORES, 11)
    finally:
        del np.float
    ours = roc_curve(LABELS, SCORES, 11)
    assert np.allclose(theirs["fpr"], ours["fpr"])
    assert not np.allclose(theirs["tpr"], ours["tpr"])  # TP / (TN + FP): not a TPR


def test_filter_grid_and_conv_outputs_show_every_channel():
    import paddle

    from paddle_suite.models import LeNet
    from paddle_suite.visual.weights import conv_outputs, filter_grid, tile
    paddle.seed(0)
    net = LeNet()
    grid = filter_grid(net.features[0].weight.numpy())  # 6 filters of 1x3x3
    assert grid.dtype == np.uint8 and grid.shape[2] == 3
    maps, probs = conv_outputs(net, np.random.default_rng(0).random((1, 28, 28)).astype("float32"))
    assert {k: v.shape for k, v in maps.items()} == {"features.0": (6, 28, 28),
                                                     "features.3": (16, 10, 10)}
    assert probs.shape == (10,) and abs(probs.sum() - 1) < 1e-5
    assert tile(np.zeros((5, 4, 4))).shape == (2 * (48 + 2) + 2, 3 * (48 + 2) + 2, 3)  # 2x3


def test_filter_and_feature_map_figures_are_enlarged_with_one_colour_scale(tmp_path):
    """Each cell at least ~100 px, one colour bar shared by all cells and symmetric about
    zero for weights, the layer and the prediction in the title."""
    import cv2
    import paddle

    from paddle_suite.models import LeNet
    from paddle_suite.visual.pictures import (
        feature_maps_figure,
        filters_figure,
        prediction_text,
    )
    from paddle_suite.visual.plots import save_figure
    paddle.seed(0)
    net = LeNet()
    weight = net.features[0].weight.numpy()
    fig = filters_figure(weight, "features.0")
    bars = [ax for ax in fig.axes if ax.get_ylabel() == "weight"]
    bound = float(np.abs(weight.mean(axis=1)).max())
    assert len(bars) == 1 and bars[0].get_ylim() == pytest.approx((-bound, bound))
    title = fig.axes[0].get_title()
    assert "features.0" in title and "6 of 3x3" in title
    captions = [t.get_text() for t in fig.axes[0].texts]
    assert captions == [f"#{i}" for i in range(6)]
    path = save_figure(fig, tmp_path / "filters.png")
    height, width = cv2.imread(str(path)).shape[:2]
    assert width >= 3 * 100 and height >= 2 * 100  # 3 x 2 cells of at least 100 px
    image = np.random.default_rng(0).random((1, 28, 28)).astype("float32")
    probs = np.array([0.1, 0.7, 0.2])
    fig = feature_maps_figure(image, np.random.default_rng(1).random((16, 10, 10)), "features.3",
                              prediction_text(["zero", "one", "two"], probs, true=2))
    assert fig._suptitle.get_text().endswith("predicted one (p=0.700), true two")
    captions = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert captions == [f"channel {i}" for i in range(16)]
    assert len([ax for ax in fig.axes if ax.get_ylabel() == "activation"]) == 1
    save_figure(fig, tmp_path / "maps.png")


def test_top_losses_are_the_most_confidently_wrong_first():
    from paddle_suite.visual.mistakes import most_confused, top_losses
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.01, 0.99], [0.5, 0.5]])
    labels = np.array([0, 0, 1, 0, 1])
    items = top_losses(probs, labels, k=3)
    assert [i["index"] for i in items] == [3, 1, 2]  # -ln 0.01, -ln 0.2, -ln 0.4
    assert items[0] == {"index": 3, "loss": pytest.approx(-np.log(0.01)), "true": 0,
                        "predicted": 1, "probability": 0.99, "true_probability": 0.01}
    matrix = np.array([[5, 3, 0], [1, 7, 0], [4, 0, 2]])
    pairs = most_confused(matrix, ["a", "b", "c"])
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [
        ("c", "a", 4), ("a", "b", 3), ("b", "a", 1)]
    assert pairs[0]["share"] == pytest.approx(4 / 6)


def test_a_collapsed_model_draws_a_flat_pr_curve_at_the_positives_share():
    """Every image gets the same score: one operating point (recall 1, precision = share of
    positives), drawn flat, not as a line from (0, 1) down to it."""
    labels = np.array([1] * 10 + [0] * 90)
    pr = pr_curve(labels, np.full(100, 0.1), 51)
    assert np.allclose(pr["precision"], 0.1)
    assert set(np.round(pr["recall"], 6)) == {0.0, 1.0}


def test_a_working_model_keeps_precision_one_above_its_highest_score():
    labels = np.array([1, 1, 0, 0])
    pr = pr_curve(labels, np.array([0.8, 0.6, 0.3, 0.1]), 11)
    assert pr["precision"][-1] == 1.0 and pr["recall"][-1] == 0.0


def test_visualdl_stores_scalars_as_32_bit_floats(tmp_path):
    """Why the hyper-parameter page's metric cells show 0.9545000195503235 for 0.9545: no
    rounding on the writer's side can change it. If this fails, VisualDL changed its record."""
    from visualdl import LogReader, LogWriter
    with LogWriter(logdir=str(tmp_path), file_name="vdlrecords.t.log") as writer:
        writer.add_scalar("eval/acc", 0.9545, 1)
    value = LogReader(file_path=str(tmp_path / "vdlrecords.t.log")).get_data(
        "scalar", "eval/acc")[0].value
    assert value != 0.9545 and value == float(np.float32(0.9545))
