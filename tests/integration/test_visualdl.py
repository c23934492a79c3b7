"""VisualDL records of a real run, read back with VisualDL's reader and its own server."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from paddle_suite import train
from paddle_suite.visual.server import page_language, visualdl_command

from ..conftest import ROOT


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from paddle_suite import load_config

    from ..conftest import LENET, tiny_overrides
    out = tmp_path_factory.mktemp("vdl")
    return train(load_config(LENET, tiny_overrides(out / "logs", epochs=2,
                                                   **{"Callbacks.EMA": "{decay: 0.9}"})))


def reader(run_dir):
    from visualdl import LogReader
    return LogReader(file_path=str(run_dir / "vdlrecords.run.log"))


def test_records_hold_scalars_hparams_images_histograms_and_curves(run):
    tags = reader(run.run_dir).get_tags()
    assert {"train/lr", "train/loss", "eval/loss", "eval/acc", "eval/ema_acc",
            "train/samples_per_second"} <= set(tags["scalar"])
    assert tags["hyper_parameters"] and "input/first_batch" in tags["image"]
    assert "eval/confusion_matrix" in tags["image"]
    assert "weights/features.0.weight" in tags["histogram"]
    assert "gradients/features.0.weight" in tags["histogram"]
    assert {"pr/class_0_0", "pr/class_1_1"} <= set(tags["pr_curve"])
    assert {"roc/class_0_0", "roc/class_1_1"} <= set(tags["roc_curve"])
    assert "eval/per_class_metrics" in tags["image"]  # a table picture: Text folds tables
    assert "eval/per_class_summary" in tags["text"] and "eval/best_acc" in tags["scalar"]
    assert "eval/top_losses" in tags["image"]
    assert "weights/filters/features.0" in tags["image"] and "features/features.3" in tags["image"]
    assert "norms/weights/fc.2.weight" in tags["scalar"]
    assert "norms/gradients/fc.2.weight" in tags["scalar"]
    eval_acc = [x.value for x in reader(run.run_dir).get_data("scalar", "eval/acc")]
    assert eval_acc == pytest.approx([r["eval_acc"] for r in run.history])
    lrs = reader(run.run_dir).get_data("scalar", "train/lr")
    # every scalar_interval (10) updates and at each epoch's first: 14 batches x 2 epochs
    assert [x.id for x in lrs] == [1, 10, 15, 20]


def test_one_samples_per_second_figure_in_visualdl_and_metrics(run):
    speeds = [x.value for x in reader(run.run_dir).get_data("scalar",
                                                            "train/samples_per_second")]
    assert speeds == pytest.approx([r["samples_per_second"] for r in run.history], rel=1e-6)
    steps = [x.id for x in reader(run.run_dir).get_data("scalar", "train/samples_per_second")]
    assert steps == [14, 28]  # the global step, as every other scalar


def test_learning_curves_say_what_they_show(run):
    from paddle_suite.visual.plots import (
        confusion_figure,
        learning_curves_figure,
        pyplot,
    )
    fig = learning_curves_figure(run.history, title="lenet_mnist/run - lr=0.002", classes=2,
                                 best_epoch=run.summary["best_epoch"])
    fig.canvas.draw()
    loss, acc, lr = fig.axes
    for ax in (loss, acc, lr):
        ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert ticks and all(t.lstrip("−-").isdigit() for t in ticks), ticks  # whole epochs
    legend = [t.get_text() for t in acc.get_legend().get_texts()]
    assert "train (mean over each epoch, augmented)" in legend and "eval (end of epoch)" in legend
    assert "chance (1/C, C=2)" in legend and f"best epoch {run.summary['best_epoch']}" in legend
    assert "chance (ln C, C=2)" in [t.get_text() for t in loss.get_legend().get_texts()]
    assert fig._suptitle.get_text() == "lenet_mnist/run - lr=0.002"
    assert lr.get_title() == "learning rate (every update)"
    assert len(lr.lines[0].get_xdata()) == 2 * 14 + 1  # cosine per update: 14 batches x 2
    assert [r["batches"] for r in run.history] == [14, 14]
    pyplot().close(fig)
    import numpy as np
    fig = confusion_figure(np.array([[8, 2], [1, 9]]), ["0", "1"])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["confusion (eval set, 2 classes): counts",
                      "confusion (eval set, 2 classes): share of the true class"]
    assert "0.80" in [t.get_text() for t in fig.axes[1].texts]  # row-normalised cells
    pyplot().close(fig)


def test_report_files_are_written_at_the_end_of_training(run):
    for name in ("learning_curves.png", "confusion_matrix.png", "per_class.json",
                 "per_class.csv", "report.md", "filters.png", "feature_maps/features.0.png"):
        assert (run.run_dir / name).is_file(), name
    per_class = json.loads((run.run_dir / "per_class.json").read_text())
    assert [c["class"] for c in per_class["classes"]] == ["0", "1"]
    report = (run.run_dir / "report.md").read_text()
    assert "![learning curves](learning_curves.png)" in report
    assert "[config.yaml](config.yaml)" in report and "lr `0.002`" in report
    assert "## Diagnosis" in report and "![first-layer filters](filters.png)" in report
    assert "![features.0](feature_maps/features.0.png)" in report
    assert "![the eval images with the highest loss](top_losses.png)" in report
    assert (run.run_dir / "top_losses.png").is_file()


def test_report_tool_rewrites_the_report_of_an_existing_run(run):
    (run.run_dir / "report.md").unlink()
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "report.py"), str(run.run_dir)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr
    assert "final.pdparams" in (run.run_dir / "report.md").read_text()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_visualdl(logdir, command=None):
    """A real VisualDL server on 127.0.0.1 (a free port), started by tools/serve_visualdl.py as the
    README says (or by `command(port)`), once it answers: (process, port)."""
    port = free_port()
    argv = command(port) if command else [sys.executable, str(ROOT / "tools" / "serve_visualdl.py"),
                                          "--logdir", str(logdir), "--port", str(port)]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            get(port, "runs")
            return server, port
        except OSError:
            time.sleep(0.2)
    server.terminate()
    pytest.fail("visualdl server did not answer")


def status_of_page(port, accept_language=None):
    """The HTTP status of the page a browser opens, for a client with that Accept-Language
    header (None: no header, as curl)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/app")
    if accept_language is not None:
        request.add_header("Accept-Language", accept_language)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_page_answers_every_client_whatever_its_language(tmp_path):
    """VisualDL 2.5.3 alone answers 500 to a client asking for neither en nor zh."""
    server, port = start_visualdl(tmp_path)
    try:
        assert [status_of_page(port, lang) for lang in (None, "de-DE,de;q=0.9", "zh-CN")] \
            == [200, 200, 200]
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_visualdl_alone_fails_a_client_asking_for_another_language(tmp_path):
    """The VisualDL 2.5.3 behaviour tools/serve_visualdl.py works around (it passes --language)."""
    def plain(port):
        return visualdl_command(tmp_path, port=port)[:-2]  # without --language
    server, port = start_visualdl(tmp_path, plain)
    try:
        assert status_of_page(port, "de-DE,de;q=0.9") == 500
        assert status_of_page(port, "en-US") == 200
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_run_names_lead_with_what_tells_runs_apart():
    """VisualDL's run list cuts names after about 30 characters: the values set lead, in
    the hyper-parameter page's words (weight_decay, not coeff), every one of them."""
    from paddle_suite import load_config
    from paddle_suite.visual.hparams import display_name

    from ..conftest import LENET
    trials = [["Global.epochs=4", f"Optimizer.lr.learning_rate={lr}",
               "Optimizer.regularizer.coeff=1e-05"] for lr in (0.0005, 0.002)]
    names = [display_name(load_config(LENET, o), f"trial-00{i}", o)
             for i, o in enumerate(trials)]
    assert names[0] == "weight_decay=1e-05 lr=0.0005 epochs=4 | lenet_mnist/trial-000"
    assert names[0][:30] != names[1][:30]
    plain = load_config(LENET)
    assert display_name(plain, "20261202-101500", []) == "20261202-101500 | lenet_mnist"


def test_the_page_language_follows_the_locale():
    assert page_language({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert page_language({"LANG": "de_DE.UTF-8"}) == page_language({}) == "en"
    assert page_language({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"


def get(port, path, **query):
    url = f"http://127.0.0.1:{port}/app/api/{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read()
        return json.loads(body) if "json" in response.headers.get("Content-Type", "") else body


def test_visualdl_server_serves_the_run(run):
    server, port = start_visualdl(run.run_dir.parent)
    try:
        runs = get(port, "runs")["data"]
        assert runs == ["EMA={decay: 0.9, warmup: true} batch_size=128 class_num=2 "
                        f"classes=[0, 1] epochs=2 | lenet_mnist/{run.run_dir.name}"]
        name = runs[0]
        points = get(port, "scalar/list", run=name, tag="eval/acc")["data"]
        assert [p[2] for p in points] == pytest.approx([r["eval_acc"] for r in run.history])
        hparams = get(port, "hparams/list")["data"]
        assert hparams[0]["hparams"]["lr"] == pytest.approx(0.002)
        assert "optimizer" not in hparams[0]["hparams"]  # the same in every run of the folder
        assert not any("." in key for key in hparams[0]["hparams"])  # the page shows no dotted name
        assert get(port, "image/list", run=name, tag="input/first_batch")["data"]
        png = get(port, "image/image", run=name, tag="input/first_batch", index=0)
        assert png[:4] == b"\x89PNG"
    finally:
        server.terminate()
        server.wait(timeout=20)
