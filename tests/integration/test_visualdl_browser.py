"""VisualDL as a person sees it: Debian's chromium, driven headless by Playwright (no browser
download), on a real `visualdl` server over three runs that differ only in the LR.

Skipped with the reason where Playwright or /usr/bin/chromium is missing; .ci/run installs
both. With the suite's former dotted hyper-parameter names every LR cell was blank and the
Parallel Coordinates view hung: these checks fail on that page.
"""
import re
import time
from pathlib import Path

import pytest

from paddle_suite import load_config, train

from ..conftest import LENET, tiny_overrides
from .test_visualdl import start_visualdl

CHROMIUM = Path("/usr/bin/chromium")
LRS = ["0.0005", "0.002", "0.008"]
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium "
                                "(apt-get install chromium)")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    logs = tmp_path_factory.mktemp("browser") / "logs"
    for i, lr in enumerate(LRS):
        train(load_config(LENET, tiny_overrides(logs, epochs=1, **{
            "Callbacks.VisualDL": "{images: false, histograms: false}",
            "Global.run_name": f"trial-{i}", "Optimizer.lr.learning_rate": lr})))
    server, port = start_visualdl(logs)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        tab = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-US")
        tab.base = f"http://127.0.0.1:{port}/app"
        try:
            yield tab
        finally:
            browser.close()
            server.terminate()
            server.wait(timeout=20)


def wait_for_text(page, pattern: str, seconds: float = 30) -> str:
    """The page's visible text once `pattern` (a regex) appears in it, within `seconds`."""
    deadline = time.time() + seconds
    while True:
        text = page.inner_text("body")
        if re.search(pattern, text):
            return text
        if time.time() > deadline:
            raise AssertionError(f"{pattern!r} did not appear within {seconds} s:\n{text[:2000]}")
        time.sleep(0.5)


def test_table_view_shows_each_runs_learning_rate(page):
    page.goto(f"{page.base}/hyper-parameter", timeout=60000)
    wait_for_text(page, r"Trial ID")
    cells = [c.inner_text().strip() for c in page.query_selector_all("[role=cell]")]
    for lr in LRS:
        assert lr in cells, f"no table cell holds lr {lr}: {cells[:40]}"
    text = page.inner_text("body")
    assert "eval/best_acc" in text and "\nlr\n" in text


def test_the_lr_is_a_numeric_hyper_parameter(page):
    """Written as a number, the page orders and scales it (linear or log) by value, not by
    text: VisualDL calls it `continuous`."""
    import json
    import urllib.request
    with urllib.request.urlopen(f"{page.base}/api/hparams/indicators", timeout=10) as r:
        hparams = {h["name"]: h for h in json.loads(r.read())["data"]["hparams"]}
    assert hparams["lr"]["type"] == "continuous"
    assert sorted(hparams["lr"]["values"]) == sorted(float(lr) for lr in LRS)
    assert not {"optimizer", "schedule", "seed"} & set(hparams)  # the same in every run


@pytest.mark.parametrize("view", ["Parallel Coordinates View", "Scatter Plot Matrix View"])
def test_the_plot_views_draw_a_numeric_lr_axis(page, view):
    page.goto(f"{page.base}/hyper-parameter", timeout=60000)
    wait_for_text(page, r"Trial ID")
    page.get_by_text(view).click()
    # a numeric axis draws evenly spaced ticks over the values' range (text would list the
    # values themselves in the order read)
    low, high = min(map(float, LRS)), max(map(float, LRS))
    deadline = time.time() + 30
    while time.time() < deadline:
        labels = [(t.text_content() or "").strip() for t in page.query_selector_all("svg text")]
        ticks = sorted({float(t) for t in labels if re.fullmatch(r"0\.00\d+", t)})
        if len(ticks) >= 3 and ticks[0] <= (low + high) / 2 and ticks[-1] >= high * 0.99:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"{view}: no numeric lr axis over [{low}, {high}] within 30 s; SVG "
                             f"text: {labels[:40]}")
    steps = {round(b - a, 6) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1, ticks  # evenly spaced: a linear numeric axis


def test_run_list_shows_readable_names(page):
    page.goto(f"{page.base}/scalar", timeout=60000)
    text = wait_for_text(page, r"trial-0")
    names = [line.strip() for line in text.splitlines() if "| lenet_mnist/trial-" in line]
    for i, lr in enumerate(LRS):  # the value that differs leads the name
        assert any(n.startswith(f"lr={lr} ") and n.endswith(f"trial-{i}") for n in names), names
    assert len({n[:25] for n in names}) == len(LRS)  # told apart before the list cuts them


def test_per_class_results_render_readably(page):
    page.goto(f"{page.base}/text", timeout=60000)
    text = wait_for_text(page, r"lowest F1: \d+ 0\.\d{4} \(precision")  # the first is open
    page.goto(f"{page.base}/image", timeout=60000)
    wait_for_text(page, r"eval/per_class_metrics")
    assert "|---|" not in text  # no Markdown table folded into one line
