"""Data sets on disk, class subsets, held-out splits and bad-data errors."""
import cv2
import numpy as np
import pytest

from paddle_suite import DataError, load_config
from paddle_suite.config.sections import data_spec
from paddle_suite.data import build_data
from paddle_suite.data.datasets import mnist10k

from ..conftest import LENET


@pytest.fixture(scope="module")
def digits():
    return mnist10k("test")


def write_pngs(root, digits, per_class=3, classes=(0, 1, 2)):
    """Real MNIST test digits written as PNG files in class folders; returns (path, label) pairs."""
    entries = []
    for label in classes:
        folder = root / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        for i, index in enumerate(np.flatnonzero(digits.labels == label)[:per_class]):
            path = folder / f"{i}.png"
            cv2.imwrite(str(path), digits.images[index][:, :, 0])
            entries.append((f"class_{label}/{i}.png", label))
    return entries


def cfg_for(train_dataset, eval_dataset=None, class_num=3, extra=()):
    data = {"Arch": {"name": "LeNet", "class_num": class_num},
            "DataLoader": {"Train": {"dataset": train_dataset, "batch_size": 4},
                           "Eval": {"dataset": eval_dataset or train_dataset}}}
    return load_config(None, list(extra), data=data)


def test_image_folder_reads_real_pngs(tmp_path, digits):
    write_pngs(tmp_path, digits)
    data = build_data(data_spec(cfg_for({"name": "ImageFolder", "root": str(tmp_path)})))
    image, label = data.train[0]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    assert data.class_names == ["class_0", "class_1", "class_2"]
    assert sorted(set(data.train.labels.tolist())) == [0, 1, 2]


def test_paddleclas_file_list_and_label_errors_name_file_and_line(tmp_path, digits):
    entries = write_pngs(tmp_path, digits)
    listing = tmp_path / "train_list.txt"
    listing.write_text("".join(f"{p} {l}\n" for p, l in entries))
    section = {"name": "FileList", "image_root": str(tmp_path), "cls_label_path": str(listing)}
    assert len(build_data(data_spec(cfg_for(section))).train) == 9
    listing.write_text("".join(f"{p} {l}\n" for p, l in entries) + f"{entries[0][0]} 7\n")
    with pytest.raises(DataError, match="line 10.*listed twice"):
        build_data(data_spec(cfg_for(section)))
    listing.write_text(f"{entries[0][0]} 0\n{entries[1][0]} 5\n")
    with pytest.raises(DataError, match=r"train_list.txt, line 2: label 5 is outside \[0, 3\)"):
        build_data(data_spec(cfg_for(section)))
    listing.write_text(f"{entries[0][0]} 0\nmissing.png 1\n")
    with pytest.raises(DataError, match="line 2: image .*missing.png does not exist"):
        build_data(data_spec(cfg_for(section)))


def test_paddlex_layout_and_class_count_mismatch(tmp_path, digits):
    entries = write_pngs(tmp_path, digits)
    (tmp_path / "label.txt").write_text("0 zero\n1 one\n2 two\n")
    for split in ("train", "val"):
        (tmp_path / f"{split}.txt").write_text("".join(f"{p} {l}\n" for p, l in entries))
    train = {"name": "PaddleX", "dataset_dir": str(tmp_path), "split": "train"}
    val = {"name": "PaddleX", "dataset_dir": str(tmp_path), "split": "val"}
    data = build_data(data_spec(cfg_for(train, val)))
    assert data.class_names == ["zero", "one", "two"] and len(data.eval) == 9
    with pytest.raises(DataError, match="class_num is 4 but .* has 3 classes"):
        build_data(data_spec(cfg_for(train, val, class_num=4)))


def test_unreadable_image_is_named_at_build_or_after_the_loader_pass(tmp_path, digits):
    write_pngs(tmp_path, digits)
    bad = tmp_path / "class_1" / "2.png"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated PNG, not the first sample
    data = build_data(data_spec(cfg_for({"name": "ImageFolder", "root": str(tmp_path)})))
    batches = sum(1 for _ in data.train_loader)  # the loader thread does not hang
    assert batches == 3
    with pytest.raises(DataError, match="Cannot read image .*class_1/2.png"):
        data.failures.check()
    first = tmp_path / "class_0" / "0.png"
    first.write_bytes(b"not a png")
    with pytest.raises(DataError, match="Cannot read image .*class_0/0.png"):
        build_data(data_spec(cfg_for({"name": "ImageFolder", "root": str(tmp_path)})))


def test_images_of_different_sizes_give_a_resize_hint(tmp_path, digits):
    write_pngs(tmp_path, digits)
    cv2.imwrite(str(tmp_path / "class_2" / "9.png"), np.zeros((32, 32), np.uint8))
    data = build_data(data_spec(cfg_for({"name": "ImageFolder", "root": str(tmp_path)})))
    for _ in data.train_loader:
        pass
    with pytest.raises(DataError, match=r"shapes \(1, 28, 28\), \(1, 32, 32\).*add a Resize"):
        data.failures.check()


def test_class_subset_relabels_and_holdout_is_stratified_and_disjoint():
    cfg = load_config(LENET, ["DataLoader.classes=[3, 8]", "Arch.class_num=2",
                              "DataLoader.Eval.dataset={name: HoldOut, fraction: 0.2}"])
    data = build_data(data_spec(cfg))
    assert set(data.train.labels.tolist()) == {0, 1} and data.class_names == ["3", "8"]
    train_idx, held_idx = set(data.train.indices.tolist()), set(data.eval.indices.tolist())
    assert not train_idx & held_idx
    total = len(train_idx) + len(held_idx)
    assert abs(len(held_idx) / total - 0.2) < 0.01
    for label in (0, 1):  # each class keeps its share
        share = (data.eval.labels == label).sum() / ((data.train.labels == label).sum()
                                                    + (data.eval.labels == label).sum())
        assert abs(share - 0.2) < 0.01


def test_missing_paths_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="Data directory not found"):
        build_data(data_spec(cfg_for({"name": "ImageFolder", "root": str(tmp_path / "nope")})))
    with pytest.raises(DataError, match="set image_path and label_path to local files"):
        build_data(data_spec(cfg_for({"name": "MNIST"}, class_num=10)))
    with pytest.raises(DataError, match="Data file not found"):
        build_data(data_spec(cfg_for({"name": "MNIST10k", "root": str(tmp_path)}, class_num=10)))


def test_paddle_vision_mnist_reads_local_idx_files():
    from paddle_suite.data.datasets import BUNDLED_MNIST
    section = {"name": "MNIST", "split": "test",
               "image_path": str(BUNDLED_MNIST / "t10k-images-idx3-ubyte.gz"),
               "label_path": str(BUNDLED_MNIST / "t10k-labels-idx1-ubyte.gz")}
    data = build_data(data_spec(cfg_for(section, class_num=10)))
    ours = mnist10k("test")
    assert len(data.train) == 2000
    assert np.array_equal(data.train.base.images, ours.images)
    assert np.array_equal(data.train.labels, ours.labels)


def test_augmentation_pipeline_keeps_shape_and_changes_pixels():
    cfg = load_config(LENET, ["DataLoader.Train.transforms=[{RandomAffine: {degrees: 15, "
                              "translate: [0.1, 0.1]}}, {RandomCrop: {size: 28, padding: 2}}, "
                              "{ToCHW: {}}, {GaussianNoise: {std: 0.1}}]"])
    data = build_data(data_spec(cfg))
    a, b = data.train[0][0], data.train[0][0]
    assert a.shape == (1, 28, 28) and not np.array_equal(a, b)


def test_sklearn_digits_train_and_test_never_overlap_whatever_the_seed():
    from paddle_suite.data.datasets import sklearn_digits
    test = sklearn_digits("test")
    test_images = {im.tobytes() for im in test.images}
    for seed in (0, 1, 2):
        train = sklearn_digits("train", per_class=10, seed=seed)
        assert len(train) == 100 and np.bincount(train.labels).tolist() == [10] * 10
        assert not any(im.tobytes() in test_images for im in train.images)
    assert test.images.shape[1:] == (28, 28, 1) and len(test) == 898


def test_elastic_distortion_moves_strokes_smoothly_and_repeats_under_a_seed():
    from paddle_suite.data.transforms import build_transforms, check_transforms, elastic
    from paddle_suite.errors import OptionError
    digit = np.asarray(mnist10k("train")[0][0])
    distort = elastic(alpha=34, sigma=4)
    np.random.seed(3)
    first = distort(digit)
    np.random.seed(3)
    assert np.array_equal(distort(digit), first) and first.shape == digit.shape
    assert first.dtype == np.uint8 and not np.array_equal(first, digit)
    assert np.array_equal(elastic(alpha=0)(digit), digit)  # no displacement: the same pixels
    # a smooth field of a pixel or two: the ink stays, shifted, not scattered
    assert abs(int(first.sum()) - int(digit.sum())) < 0.2 * digit.sum()
    assert (first > 127).sum() > 0.5 * (digit > 127).sum()
    chain = build_transforms(check_transforms([{"ElasticDistortion": {"prob": 0.5}},
                                               {"ToCHW": {}}], "t"))
    assert chain(digit).shape == (1, 28, 28)
    with pytest.raises(OptionError, match="sigma must be positive"):
        elastic(sigma=0)
