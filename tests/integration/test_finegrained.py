"""Bilinear pooling and the CUB-200-2011 reader on a small generated tree in CUB's layout."""
from pathlib import Path

import cv2
import numpy as np
import paddle
import pytest

from paddle_suite import DataError, load_config, train
from paddle_suite.data.datasets import mnist10k
from paddle_suite.data.files import cub200
from paddle_suite.models.bilinear import BilinearPool, CompactBilinearPool

from ..conftest import ROOT

STAGE1 = ROOT / "configs" / "finegrained" / "cub_bilinear_stage1.yaml"


def cub_tree(root: Path, per_class: int = 6) -> Path:
    """3 'species' (coloured digits 0-2) in CUB's own layout, half train, half test."""
    digits = mnist10k("test")
    (root / "images").mkdir(parents=True)
    lines = {"images": [], "labels": [], "split": [], "boxes": []}
    image_id = 0
    for cls in range(3):
        folder = root / "images" / f"{cls + 1:03d}.Bird_{cls}"
        folder.mkdir()
        for k, index in enumerate(np.flatnonzero(digits.labels == cls)[:per_class]):
            image_id += 1
            colour = np.zeros((32, 32, 3), np.uint8)
            colour[2:30, 2:30, cls] = digits.images[index][:, :, 0]
            name = f"{folder.name}/{k}.jpg"
            cv2.imwrite(str(root / "images" / name), colour)
            lines["images"].append(f"{image_id} {name}")
            lines["labels"].append(f"{image_id} {cls + 1}")
            lines["split"].append(f"{image_id} {int(k % 2 == 0)}")
            lines["boxes"].append(f"{image_id} 2.0 2.0 28.0 28.0")
    for name, key in (("images.txt", "images"), ("image_class_labels.txt", "labels"),
                      ("train_test_split.txt", "split"), ("bounding_boxes.txt", "boxes")):
        (root / name).write_text("\n".join(lines[key]) + "\n")
    (root / "classes.txt").write_text("1 001.Bird_0\n2 002.Bird_1\n3 003.Bird_2\n")
    return root


def test_cub_reader_splits_labels_crops_and_names_a_missing_index_file(tmp_path):
    root = cub_tree(tmp_path / "CUB")
    train_set, test_set = cub200(str(root), "train"), cub200(str(root), "test", crop=True)
    assert len(train_set) == len(test_set) == 9
    assert sorted(set(train_set.labels.tolist())) == [0, 1, 2]
    assert train_set.class_names[2] == "003.Bird_2"
    assert test_set[0][0].shape == (28, 28, 3)  # cropped to the 28x28 box
    (root / "train_test_split.txt").unlink()
    with pytest.raises(DataError, match="train_test_split.txt is missing"):
        cub200(str(root))


def test_pooling_normalises_and_the_sketch_keeps_inner_products():
    paddle.seed(0)
    x, y = paddle.randn([1, 16, 4, 4]), paddle.randn([1, 16, 4, 4])
    full = BilinearPool()(x)
    assert full.shape == [1, 256] and abs(float(paddle.linalg.norm(full)) - 1) < 1e-5
    pool = CompactBilinearPool(16, dim=8192)
    assert pool(x).shape == [1, 8192]

    def unnormalised(t, compact):
        n, c = t.shape[:2]
        loc = t.reshape([n, c, -1]).transpose([0, 2, 1])
        if not compact:
            return (paddle.bmm(loc.transpose([0, 2, 1]), loc) / loc.shape[1]).reshape([n, -1])
        a = paddle.fft.rfft(paddle.matmul(loc, pool.sketch1), axis=-1)
        b = paddle.fft.rfft(paddle.matmul(loc, pool.sketch2), axis=-1)
        return paddle.fft.irfft(a * b, n=pool.dim, axis=-1).mean(axis=1)
    exact = float((unnormalised(x, False) * unnormalised(y, False)).sum())
    approx = float((unnormalised(x, True) * unnormalised(y, True)).sum())
    assert approx == pytest.approx(exact, rel=0.15)  # Tensor Sketch: unbiased estimate


@pytest.mark.parametrize("pooling", ["compact", "full"])
def test_two_stage_recipe_trains_on_the_generated_tree(tmp_path, pooling):
    root = cub_tree(tmp_path / "CUB")
    small = ["Arch.backbone=small", f"Arch.pooling={pooling}", "Arch.dim=256",
             "Arch.class_num=3", "Callbacks.VisualDL=false", "Metric.topk=[1]",
             f"Global.output_dir={tmp_path / 'logs'}", "Global.epochs=2",
             "DataLoader.Train.num_workers=0", "DataLoader.Train.batch_size=4",
             f"DataLoader.Train.dataset.root={root}", f"DataLoader.Eval.dataset.root={root}",
             "DataLoader.Train.transforms[0].Resize.size=32",
             "DataLoader.Train.transforms[1].RandomCrop.size=32",
             "DataLoader.Eval.transforms[0].Resize.size=32",
             "DataLoader.Eval.transforms[1].CenterCrop.size=32",
             "Optimizer.lr.learning_rate=0.1"]
    stage1 = train(load_config(STAGE1, small + ["Arch.finetune={mode: train_all}"]))
    assert stage1.summary["status"] == "completed"
    stage2_cfg = ROOT / "configs" / "finegrained" / "cub_bilinear_stage2.yaml"
    stage2 = train(load_config(stage2_cfg, small + [f"Arch.pretrained={stage1.run_dir}"]))
    assert stage2.summary["pretrained"]["loaded"] > 0
    assert not stage2.summary["pretrained"]["skipped_shape"]
