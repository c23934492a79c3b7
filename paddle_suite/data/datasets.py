"""Data sets. Every one yields (HWC uint8 image, int label), untransformed, and knows its
labels up front (`labels`), where each sample came from (`source(i)`) and, where the format
says, how many classes it has (`num_classes`)."""
from __future__ import annotations

import gzip
import math
import struct
import tarfile
import zlib
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import paddle

from ..errors import DataError
from ..runs.checkpoint import load_pickle_bytes
from .imageio import display_path, read_image
from .listing import PathTable

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
    """Images read from files with OpenCV. The paths are kept in a compact `PathTable`
    (shared by forked workers without copies); `sources` says where each entry was listed
    (a sequence of strings, or None: the file itself)."""

    def __init__(self, paths, labels, sources, channels: int,
                 num_classes: int | None = None, class_names: list[str] | None = None):
        super().__init__()
        self.paths = paths if isinstance(paths, PathTable) else PathTable(paths)
        self.sources = sources
        self.labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        self.channels, self.num_classes = channels, num_classes
        self.class_names = class_names

    def source(self, index: int) -> str:
        return display_path(self.paths[index]) if self.sources is None else self.sources[index]

    def __getitem__(self, index):
        where = "" if self.sources is None else self.sources[index]
        return read_image(self.paths[index], self.channels, where), self.labels[index]

    def __len__(self):
        return len(self.labels)


MAX_DATA_FILE_BYTES = 1 << 30  # an IDX payload or a CIFAR batch larger than 1 GiB is refused


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not. The header's sizes are checked
    before the data is read, and no more than they announce is read (a gzip bomb or a
    header claiming terabytes is named, not loaded)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) != 4 or head[:2] != b"\0\0" or head[2] != 0x08 or not 1 <= head[3] <= 4:
                raise DataError(f"IDX file {path} has no valid unsigned-byte IDX header "
                                f"(magic {head.hex() or 'missing'}).")
            dims = struct.unpack(">" + "I" * head[3], f.read(4 * head[3]))
            size = math.prod(dims)
            if size > MAX_DATA_FILE_BYTES:
                raise DataError(f"IDX file {path}: its header announces {size:,} bytes "
                                f"(shape {list(dims)}), over the {MAX_DATA_FILE_BYTES >> 30} GiB "
                                "limit.")
            data = np.frombuffer(f.read(size), dtype=np.uint8)
    except (OSError, EOFError, struct.error, zlib.error) as exc:
        raise DataError(f"Cannot read IDX file {path}: {exc}.") from None
    if data.size != size:
        raise DataError(f"IDX file {path} is truncated: header says {list(dims)}, "
                        f"found {data.size} bytes of data.")
    return data.reshape(dims)


def grey_as(images: np.ndarray, channels: int) -> np.ndarray:
    """[N, H, W, 1] grey images as the model's channels (grey repeated for an RGB model,
    as OpenCV reads a grey file in colour)."""
    return images if channels == 1 else np.repeat(images, channels, axis=3)


def mnist10k(split: Literal["train", "test"] = "train", root: str | None = None,
             channels: int = 1):
    """The 10,000-digit MNIST subset bundled with the suite (8,000 train / 2,000 test). Offline.
    A model with 3 input channels gets each digit as a grey RGB image."""
    root_dir = Path(root) if root else BUNDLED_MNIST
    prefix = "train" if split == "train" else "t10k"
    images = _read_idx(_existing(root_dir / f"{prefix}-images-idx3-ubyte.gz", "root"))
    labels = _read_idx(_existing(root_dir / f"{prefix}-labels-idx1-ubyte.gz", "root"))
    return ArrayDataset(grey_as(images[:, :, :, None], channels), labels, f"mnist10k/{split}",
                        num_classes=10)


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
    if image_path and label_path:  # local IDX files: read with the bounded reader
        images = _read_idx(_existing(Path(image_path), "image_path"))
        labels = _read_idx(_existing(Path(label_path), "label_path"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{image_path} / {label_path}: expected N images of H x W and N "
                            f"labels, got shapes {list(images.shape)} and {list(labels.shape)}.")
        return ArrayDataset(images[:, :, :, None], labels, f"{cls.__name__}/{split}", 10)
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


def _cifar(classes: int, split: str, data_file: str | None, download: bool):
    """Read the official CIFAR python archive without running code from it.

    The archive's batches are pickles; paddle.vision unpickles them as they are, so a forged
    archive could run code. Here each batch goes through the restricted unpickler (arrays,
    numbers, bytes, lists and dicts only), with its size bounded."""
    if not data_file:
        raise DataError(f"Cifar{classes}: set data_file to the official python archive "
                        f"(cifar-{classes}-python.tar.gz); nothing is downloaded here"
                        + (" (download: true is not supported for CIFAR)." if download else "."))
    path = _existing(Path(data_file), "data_file")
    train, test = {10: ("data_batch", "test_batch"), 100: ("/train", "/test")}[classes]
    name = train if split == "train" else test
    key = b"labels" if classes == 10 else b"fine_labels"
    images, labels = [], []
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in sorted(archive.getmembers(), key=lambda m: m.name):
                if not member.isfile() or name not in member.name:
                    continue
                if member.size > MAX_DATA_FILE_BYTES:
                    raise DataError(f"{path}: member {member.name} is {member.size:,} bytes, "
                                    "over the limit for a CIFAR batch.")
                batch = load_pickle_bytes(archive.extractfile(member).read(),
                                          f"{path}:{member.name}")
                images.append(np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32))
                labels += [int(v) for v in batch[key]]
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: not a readable CIFAR archive ({exc}).") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: a batch does not have the CIFAR layout ({exc}).") from None
    if not images:
        raise DataError(f"{path}: no {split} batches in this archive (expected members "
                        f"named like '{name}').")
    data = np.concatenate(images).transpose(0, 2, 3, 1)
    return ArrayDataset(np.ascontiguousarray(data), labels, f"Cifar{classes}/{split}", classes)


def cifar10(split: Literal["train", "test"] = "train", data_file: str | None = None,
            download: bool = False):
    """CIFAR-10 from the official python archive (cifar-10-python.tar.gz)."""
    return _cifar(10, split, data_file, download)


def cifar100(split: Literal["train", "test"] = "train", data_file: str | None = None,
             download: bool = False):
    """CIFAR-100 (fine labels) from the official python archive (cifar-100-python.tar.gz)."""
    return _cifar(100, split, data_file, download)


def sklearn_digits(split: Literal["train", "test"] = "train", per_class: int | None = None,
                   test_fraction: float = 0.5, split_seed: int = 0, seed: int = 0,
                   channels: int = 1):
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
    return ArrayDataset(grey_as(images[chosen], channels), labels[chosen],
                        f"sklearn_digits/{split}", 10)
