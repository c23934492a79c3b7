"""The export served by the deploy tools Paddle users run, each in its own virtual
environment (their pins clash with the suite's): PaddleX 3 and PaddleClas's deploy
predictor must give the same top-1 as tools/infer.py on 50 real test digits, for a grey-scale
model (served from RGB through the in-graph adapter) and a 3-channel one.

CI builds the environments (.ci/consumers.sh) and names their Python interpreters in
PADDLE_SUITE_PADDLEX_PYTHON and PADDLE_SUITE_PADDLECLAS_PYTHON; without them these tests
are skipped, saying so."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from paddle_suite import load_config, train
from paddle_suite.data.datasets import mnist10k
from paddle_suite.deploy.export import export_model

from ..conftest import LENET, ROOT

CONSUMERS = ROOT / "tests" / "consumers"
IMAGES = 50


def consumer_python(variable):
    python = os.environ.get(variable)
    if not python:
        pytest.skip(f"{variable} is not set (CI's .ci/consumers.sh builds that environment)")
    return python


def write_digits(folder: Path, colour: bool) -> list[Path]:
    """50 MNIST test digits as PNG files; in colour, each digit gets its own tint, so a
    consumer that swaps the channel order reads different pixels than the model saw."""
    digits = mnist10k("test")
    folder.mkdir()
    rng = np.random.default_rng(0)
    paths = []
    for i in range(IMAGES):
        grey = digits.images[i, :, :, 0].astype(np.float32)
        image = grey if not colour else np.stack([grey * w for w in rng.uniform(0.2, 1, 3)], -1)
        path = folder / f"{i:03d}.png"
        cv2.imwrite(str(path), np.clip(image, 0, 255).astype(np.uint8))
        paths.append(path)
    return paths


@pytest.fixture(scope="module", params=[1, 3], ids=["grey", "rgb"])
def export(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"deploy{request.param}")
    overrides = [f"Global.output_dir={out}", "Global.epochs=1", "Global.run_name=r",
                 "DataLoader.Train.max_samples=2000", "Callbacks.VisualDL=false",
                 f"Arch.in_channels={request.param}"]
    run = train(load_config(LENET, overrides))
    cfg = load_config(LENET, overrides + [f"Global.pretrained_model={run.run_dir}"])
    report = export_model(cfg, str(out / "model"))
    assert all(row["ok"] for row in report["checks"])
    images = write_digits(out / "images", colour=request.param == 3)
    ours = out / "ours.json"
    subprocess.run([sys.executable, str(ROOT / "tools" / "infer.py"), "--model-dir",
                    str(out / "model"), "--images", str(out / "images"), "--out", str(ours)],
                   check=True, capture_output=True, timeout=300)
    top1 = {Path(r["image"]).name: [r["topk"][0]["label"], r["topk"][0]["score"]]
            for r in json.loads(ours.read_text())}
    return out / "model", images, top1


def serve(python, script, model_dir, images, env_extra, cache):
    env = {**os.environ, **env_extra, "PADDLE_PDX_CACHE_HOME": str(cache), "HOME": str(cache),
           "PYTHONPATH": ""}
    proc = subprocess.run([python, str(CONSUMERS / script), str(model_dir),
                           *map(str, images)], capture_output=True, text=True, timeout=600,
                          env=env, cwd=cache)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_same_top1(theirs, ours):
    assert len(theirs) == IMAGES and set(theirs) == set(ours)
    assert [theirs[k][0] for k in sorted(ours)] == [ours[k][0] for k in sorted(ours)]
    # both round scores to 5 decimals; the softmax is in the graph, so these are probabilities
    assert max(abs(theirs[k][1] - ours[k][1]) for k in ours) < 2e-5


def test_paddlex_serves_the_export(export, tmp_path):
    model_dir, images, ours = export
    theirs = serve(consumer_python("PADDLE_SUITE_PADDLEX_PYTHON"), "paddlex_predict.py",
                   model_dir, images, {}, tmp_path)
    assert_same_top1(theirs, ours)


def test_paddleclas_deploy_serves_the_export_after_it_was_moved(export, tmp_path):
    """inference_cls.yaml names its folder relatively: the export is moved, and its old
    place removed, before PaddleClas serves it."""
    import shutil
    model_dir, images, ours = export
    moved = tmp_path / "moved" / "inference"
    shutil.copytree(model_dir, moved)
    hidden = model_dir.with_name(model_dir.name + ".gone")
    model_dir.rename(hidden)
    try:
        theirs = serve(consumer_python("PADDLE_SUITE_PADDLECLAS_PYTHON"), "paddleclas_predict.py",
                       moved, images, {"FLAGS_enable_pir_api": "0"}, tmp_path)
    finally:
        hidden.rename(model_dir)
    assert_same_top1(theirs, ours)
