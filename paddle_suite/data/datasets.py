"""Data sets. Every one yields (HWC uint8 image, int label), untransformed, and knows its
labels up front (`labels`), where each sample came from (`source(i)`) and, where the format
says, how many classes it has (`num_classes`)."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import paddle

from ..errors import DataError
from ..imageio import read_image

BUNDLED_MNIST = Path(__file__).resolve().parent / "mnist10k"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm")


class ArrayDataset(paddle.io.Dataset):
    """Images held in memory as an [N, H, W, C] uint8 array."""

    def __init__(self, images: np.ndarray, labels, name: str, num_classes: int | None = None):
        super().__init__()
        self.images = images
        self.labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        self.name, self.num_classes = name, num_classes

    def source(self, index: int) -> str:
        return f"{self.name} sample {index}"

    def __getitem__(self, index):
        return self.images[index], self.labels[index]

    def __len__(self):
        return len(self.labels)


class FileDataset(paddle.io.Dataset):
    """Images read from files with OpenCV; `sources` says where each entry was listed."""

    def __init__(self, paths: list[str], labels, sources: list[str], channels: int,
                 num_classes: int | None = None, class_names: list[str] | None = None):
        super().__init__()
        self.paths, self.sources = list(paths), list(sources)
        self.labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        self.channels, self.num_classes = channels, num_classes
        self.class_names = class_names

    def source(self, index: int) -> str:
        return self.sources[index]

    def __getitem__(self, index):
        return read_image(self.paths[index], self.channels, self.sources[index]), self.labels[index]

    def __len__(self):
        return len(self.labels)


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            magic, = struct.unpack(">I", f.read(4))
            dims = struct.unpack(">" + "I" * (magic & 0xFF), f.read(4 * (magic & 0xFF)))
            data = np.frombuffer(f.read(), dtype=np.uint8)
    except (OSError, EOFError, struct.error) as exc:
        raise DataError(f"Cannot read IDX file {path}: {exc}.") from None
    if data.size != int(np.prod(dims)):
        raise DataError(f"IDX file {path} is truncated: header says {dims}, "
                        f"found {data.size} bytes of data.")
    return data.reshape(dims)


def mnist10k(split: Literal["train", "test"] = "train", root: str | None = None):
    """The 10,000-digit MNIST subset bundled with the suite (8,000 train / 2,000 test). Offline."""
    root_dir = Path(root) if root else BUNDLED_MNIST
    prefix = "train" if split == "train" else "t10k"
    images = _read_idx(_existing(root_dir / f"{prefix}-images-idx3-ubyte.gz", "root"))
    labels = _read_idx(_existing(root_dir / f"{prefix}-labels-idx1-ubyte.gz", "root"))
    return ArrayDataset(images[:, :, :, None], labels, f"mnist10k/{split}", num_classes=10)


def _existing(path: Path, key: str) -> Path:
    if not path.exists():
        raise DataError(f"Data file not found: {path} (from dataset key '{key}').")
    return path


def _vision_set(cls, split: str, download: bool, **files):
    """Build a paddle.vision data set from local files, or download where a network exists."""
    given = {k: v for k, v in files.items() if v}
    for key, value in given.items():
        _existing(Path(value), key)
    if len(given) < len(files) and not download:
        raise DataError(f"{cls.__name__}: set {' and '.join(files)} to local files, or set "
                        "download: true on a machine with a network connection.")
    try:
        return cls(**files, mode=split, download=download, backend="cv2")
    except (OSError, ConnectionError, RuntimeError) as exc:
        raise DataError(f"{cls.__name__}: downloading failed ({exc}). With no network, pass "
                        f"local files through {' and '.join(files)}.") from None


def _mnist_like(cls, split, image_path, label_path, download):
    ds = _vision_set(cls, split, download, image_path=image_path, label_path=label_path)
    images = np.stack(ds.images).reshape(-1, 28, 28, 1).astype(np.uint8)
    return ArrayDataset(images, np.concatenate(ds.labels), f"{cls.__name__}/{split}", 10)


def mnist(split: Literal["train", "test"] = "train", image_path: str | None = None,
          label_path: str | None = None, download: bool = False):
    """Full MNIST through paddle.vision (IDX files given locally, or downloaded)."""
    return _mnist_like(paddle.vision.datasets.MNIST, split, image_path, label_path, download)


def fashion_mnist(split: Literal["train", "test"] = "train", image_path: str | None = None,
                  label_path: str | None = None, download: bool = False):
    """Fashion-MNIST through paddle.vision (IDX files given locally, or downloaded)."""
    return _mnist_like(paddle.vision.datasets.FashionMNIST, split, image_path, label_path,
                       download)


def _cifar(cls, classes, split, data_file, download):
    # The CIFAR python archive is a pickle: paddle unpickles it. Use only the official file.
    ds = _vision_set(cls, split, download, data_file=data_file)
    images = np.stack([s for s, _ in ds.data]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    labels = [int(l) for _, l in ds.data]
    return ArrayDataset(np.ascontiguousarray(images), labels, f"{cls.__name__}/{split}", classes)


def cifar10(split: Literal["train", "test"] = "train", data_file: str | None = None,
            download: bool = False):
    """CIFAR-10 from the official python archive (cifar-10-python.tar.gz)."""
    return _cifar(paddle.vision.datasets.Cifar10, 10, split, data_file, download)


def cifar100(split: Literal["train", "test"] = "train", data_file: str | None = None,
             download: bool = False):
    """CIFAR-100 (fine labels) from the official python archive (cifar-100-python.tar.gz)."""
    return _cifar(paddle.vision.datasets.Cifar100, 100, split, data_file, download)


def sklearn_digits(split: Literal["train", "test"] = "train", per_class: int | None = None,
                   test_fraction: float = 0.5, split_seed: int = 0, seed: int = 0):
    """The UCI handwritten digits that scikit-learn ships (1,797 8x8 images), upscaled to 20x20
    and padded to 28x28 like MNIST: a second, offline domain for transfer learning.

    A stratified split (fixed by `split_seed`, so train and test never overlap whatever
    `seed` is) keeps `test_fraction` for testing; `per_class` keeps only that many training
    images of each class, drawn with `seed` (the few-shot setting).
    """
    from sklearn.datasets import load_digits
    digits = load_digits()
    small = np.clip(digits.images / 16.0 * 255.0, 0, 255).astype(np.uint8)
    images = np.stack([np.pad(cv2.resize(im, (20, 20), interpolation=cv2.INTER_LINEAR), 4)
                       for im in small])[:, :, :, None]
    labels = digits.target.astype(np.int64)
    split_rng, pick_rng = np.random.default_rng(split_seed), np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for label in range(10):
        idx = split_rng.permutation(np.flatnonzero(labels == label))
        cut = int(round(len(idx) * test_fraction))
        test_idx += idx[:cut].tolist()
        pool = pick_rng.permutation(idx[cut:])
        train_idx += pool[:per_class if per_class else None].tolist()
    chosen = np.sort(train_idx if split == "train" else test_idx)
    return ArrayDataset(images[chosen], labels[chosen], f"sklearn_digits/{split}", 10)
