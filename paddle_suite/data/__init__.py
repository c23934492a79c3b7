"""Build the train/eval data of a config: data sets, class subsets, held-out splits, loaders."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import paddle

from ..cluster.distributed import World, per_device_batch_size
from ..core.schema import parameter_names
from ..errors import DataError, OptionError, UserError
from .datasets import cifar10, cifar100, fashion_mnist, mnist, mnist10k, sklearn_digits
from .failures import FailureBox, SafeCollate, describe
from .files import cub200, file_list, image_folder, paddlex
from .imageio import check_sample_size
from .mixing import MixCollate, mix_options
from .resumable import ResumableBatchSampler, SampleSeeds
from .transforms import build_transforms, check_transforms

DATASETS = {
    "MNIST10k": mnist10k, "MNIST": mnist, "FashionMNIST": fashion_mnist, "Cifar10": cifar10,
    "Cifar100": cifar100, "ImageFolder": image_folder, "FileList": file_list, "PaddleX": paddlex,
    "SklearnDigits": sklearn_digits, "CUB200": cub200,
}


def holdout(fraction: float = 0.1):
    """Eval data taken from the training set: a stratified `fraction` held out (seeded)."""


EVAL_DATASETS = {**DATASETS, "HoldOut": holdout}
WORKER_TIMEOUT = 300  # seconds without a batch from the workers before failing, not hanging
DATASET_SKIP = ("channels", "skipped")


def train_loader(dataset: dict, transforms: list | None = None, batch_size: int = 64,
                 shuffle: bool = True, drop_last: bool = False, num_workers: int = 0,
                 mix: dict | None = None, global_batch_size: int | None = None,
                 max_samples: int | None = None):
    """Keys of `DataLoader.Train`. `batch_size` is per device (per process); with
    `global_batch_size` set, each of the N launched processes loads global_batch_size / N
    instead, so a config means the same update whatever the number of devices.
    `max_samples` trains on a random subset of that many samples, drawn with
    `Global.seed` (the same subset every run; e.g. to see how a recipe fares on less data)."""


def eval_loader(dataset: dict, transforms: list | None = None, batch_size: int = 256,
                num_workers: int = 0):
    """Keys of `DataLoader.Eval`."""


def loader_section(classes: list[int] | None = None, skip_bad_samples: bool = False,
                   Train: dict | None = None, Eval: dict | None = None):
    """Keys of `DataLoader`: `classes` keeps only those labels (renumbered 0..k-1) in both
    sets; `skip_bad_samples` leaves out (and lists) unreadable, missing, duplicate or
    mislabelled samples instead of stopping, after checking every sample once at start-up."""


class View(paddle.io.Dataset):
    """A transformed, possibly sub-selected and relabelled view of a base data set.

    With a `box` (see data/failures.py), a sample that fails to load is recorded there and
    replaced by the stand-in that `probe()` read in the main thread.
    """

    def __init__(self, base, indices, transform, relabel: dict | None = None, box=None):
        super().__init__()
        self.base, self.indices, self.transform = base, np.asarray(indices, dtype=np.int64), transform
        labels = base.labels[self.indices]
        self.labels = np.array([relabel[l] for l in labels], np.int64) if relabel else labels
        self.box, self.fallback = box, None
        self.sample_seeds = None  # a SampleSeeds: each sample's augmentation seeded by itself

    def source(self, i: int) -> str:
        return self.base.source(int(self.indices[i]))

    def load(self, i):
        img, _ = self.base[int(self.indices[i])]
        if self.sample_seeds is not None:
            self.sample_seeds(i)
        sample = self.transform(img)
        check_sample_size(sample, self.source(i))
        return sample, self.labels[i]

    def probe(self):
        """Read the first sample here (errors raise normally) and keep it as the stand-in."""
        self.fallback = self.load(0)
        return self.fallback

    def __getitem__(self, i):
        if self.box is None or self.fallback is None:
            return self.load(i)
        try:
            return self.load(i)
        except Exception as exc:  # noqa: BLE001 - re-raised in the main thread by the guard
            self.box.record(describe(exc, self.source(i)))
            return self.fallback

    def __len__(self):
        return len(self.indices)


@dataclass(frozen=True)
class DataSpec:
    """What the data layer reads of a validated config, and nothing else
    (`config.sections.data_spec(cfg)` makes one)."""

    loaders: dict             # the DataLoader section: Train, Eval, classes, ...
    class_num: int            # Arch.class_num
    in_channels: int = 1      # Arch.in_channels: images are converted to it
    seed: int | None = None   # Global.seed: subsets, hold-out splits, augmentation


@dataclass
class Data:
    """The data of one run: loaders, views, class count and names."""

    train: View | None
    eval: View | None
    train_loader: paddle.io.DataLoader | None
    eval_loader: paddle.io.DataLoader | None
    class_names: list[str]
    failures: FailureBox | None = None
    skipped: list = field(default_factory=list)


def _base(section: dict, channels: int, skipped: list | None, registry=DATASETS):
    options = {k: v for k, v in section.items() if k != "name"}
    factory = registry[section["name"]]
    accepted = parameter_names(factory)
    if "channels" in accepted:
        options["channels"] = channels
    if "skipped" in accepted and skipped is not None:
        options["skipped"] = skipped
    return factory(**options)


def _drop_bad_samples(view: View, class_num: int, skipped: list) -> View:
    """Read every sample once; leave out those that fail or carry a label out of range."""
    keep = []
    for i in range(len(view)):
        label = int(view.labels[i])
        if not 0 <= label < class_num:
            skipped.append({"where": view.source(i),
                            "problem": f"label {label} outside [0, {class_num})"})
            continue
        try:
            view.load(i)
        except Exception as exc:  # noqa: BLE001 - every failure kind is listed, not raised
            skipped.append({"where": view.source(i), "problem": describe(exc, view.source(i))})
            continue
        keep.append(i)
    view.indices, view.labels = view.indices[keep], view.labels[keep]
    return view


def _select(base, classes, path: str) -> tuple[np.ndarray, dict | None]:
    """Indices of the samples to keep and the old->new label map for a class subset."""
    if not classes:
        return np.arange(len(base.labels)), None
    present = set(np.unique(base.labels).tolist())
    missing = [c for c in classes if c not in present]
    if missing:
        raise DataError(f"DataLoader.classes: {missing} do not occur in {path} "
                        f"(labels present: {sorted(present)}).")
    keep = np.flatnonzero(np.isin(base.labels, classes))
    return keep, {c: i for i, c in enumerate(classes)}


def _stratified_split(labels: np.ndarray, fraction: float, seed) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    held = []
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        held.extend(idx[: int(round(fraction * len(idx)))])
    held = np.sort(np.asarray(held, dtype=np.int64))
    return np.setdiff1d(np.arange(len(labels)), held), held


def check_labels(view: View, class_num: int, path: str, known: int | None) -> None:
    """Reject empty sets, labels outside [0, class_num) and a class count the data contradicts."""
    if len(view) == 0:
        raise DataError(f"{path}: the data set is empty.")
    if known is not None and known != class_num:
        raise DataError(f"Arch.class_num is {class_num} but {path} has {known} classes; "
                        f"set Arch.class_num: {known}.")
    bad = np.flatnonzero((view.labels < 0) | (view.labels >= class_num))
    if len(bad):
        i = int(bad[0])
        raise DataError(f"{view.source(i)}: label {view.labels[i]} is outside [0, {class_num}) "
                        f"(Arch.class_num = {class_num}); {len(bad)} sample(s) affected.")


def _loader(view, section: dict, train: bool, class_num: int, box: FailureBox, world: World,
            seed: int | None = None):
    mix = section.get("mix") if train else None
    collate = MixCollate(class_num, mix["name"], mix["alpha"], mix["prob"]) if mix else None
    workers = section["num_workers"]
    if workers == 0:  # the loader thread must never raise: see data/failures.py
        view.box = box
        collate = SafeCollate(box, collate)
        collate.fallback = view.fallback
    batch = per_device_batch_size(section, world) if train else section["batch_size"]
    shuffle, drop_last = train and section["shuffle"], train and section["drop_last"]
    common = dict(num_workers=workers, collate_fn=collate, return_list=True,
                  timeout=WORKER_TIMEOUT if workers else 0)
    if not world.parallel:
        sampler = paddle.io.BatchSampler(view, batch_size=batch, shuffle=shuffle,
                                         drop_last=drop_last)  # what batch_size= builds
    else:
        sampler = paddle.io.DistributedBatchSampler(view, batch, num_replicas=world.size,
                                                    rank=world.rank, shuffle=shuffle,
                                                    drop_last=drop_last)
    if train:  # can start mid-epoch: data/resumable.py
        sampler = ResumableBatchSampler(sampler)
        if workers and seed is not None:
            view.sample_seeds = SampleSeeds(seed, world.rank)
    return paddle.io.DataLoader(view, batch_sampler=sampler, **common)


def build_data(spec: DataSpec, train: bool = True, evaluate: bool = True,
               world: World = World()) -> Data:
    """Build the data sets and loaders `spec` describes, checking labels on the way.
    With several processes (`world`), each loader reads its process's shard."""
    loaders = spec.loaders
    class_num, classes = spec.class_num, loaders["classes"]
    tsec, esec = loaders.get("Train"), loaders.get("Eval")
    skipped = [] if loaders["skip_bad_samples"] else None
    views = make_views(spec, train, evaluate, skipped)
    for name, view in views.items():
        known = len(classes) if classes else view.base.num_classes
        if skipped is not None:
            _drop_bad_samples(view, class_num, skipped)
        check_labels(view, class_num, f"DataLoader.{name}.dataset", known)
        _probe(view, f"DataLoader.{name}.transforms")
    tv, ev = views.get("Train") if train else None, views.get("Eval") if evaluate else None
    names = _class_names(tv or ev, class_num, classes)
    box = FailureBox()
    return Data(tv, ev, _loader(tv, tsec, True, class_num, box, world, spec.seed)
                if tv is not None else None,
                _loader(ev, esec, False, class_num, box, world) if ev is not None else None,
                names, box,
                skipped or [])


def make_views(spec: DataSpec, train: bool = True, evaluate: bool = True,
               skipped: list | None = None) -> dict[str, View]:
    """{"Train": View, "Eval": View} of `spec` (class subset, hold-out split and
    `max_samples` applied), before any sample is read or checked."""
    loaders = spec.loaders
    channels, classes, seed = spec.in_channels, loaders["classes"], spec.seed
    tsec, esec = loaders.get("Train"), loaders.get("Eval")
    views = {}
    train_base = (_base(tsec["dataset"], channels, skipped)
                  if tsec and (train or _is_holdout(esec)) else None)
    if train_base is not None:
        keep, relabel = _select(train_base, classes, "DataLoader.Train.dataset")
        if _is_holdout(esec):
            local_train, local_held = _stratified_split(train_base.labels[keep],
                                                        esec["dataset"]["fraction"], seed)
            views["Eval"] = View(train_base, keep[local_held], build_transforms(esec["transforms"]),
                                 relabel)
            keep = keep[local_train]
        keep = _subset(keep, tsec.get("max_samples"), seed)
        views["Train"] = View(train_base, keep, build_transforms(tsec["transforms"]), relabel)
    if esec and evaluate and not _is_holdout(esec):
        eval_base = _base(esec["dataset"], channels, skipped)
        keep, relabel = _select(eval_base, classes, "DataLoader.Eval.dataset")
        views["Eval"] = View(eval_base, keep, build_transforms(esec["transforms"]), relabel)
    return views


def _subset(keep: np.ndarray, count: int | None, seed: int) -> np.ndarray:
    """`count` of the indices `keep`, drawn with `seed`, in their original order."""
    if count is None or count >= len(keep):
        return keep
    chosen = np.random.default_rng(seed).choice(len(keep), size=count, replace=False)
    return keep[np.sort(chosen)]


def _probe(view: View, path: str) -> None:
    """Read and transform the first sample in this thread; a transform the images cannot
    take (a crop larger than them, a Normalize for another channel count) is named here."""
    try:
        view.probe()
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as a config problem, see docstring
        image, _ = view.base[int(view.indices[0])]
        detail = (str(exc).strip().splitlines() or [""])[0][:300]
        raise OptionError(f"{path}: the transforms fail on the first sample ({view.source(0)}, "
                          f"an image of shape {list(np.shape(image))} HWC): "
                          f"{type(exc).__name__}: {detail}.") from None


def _is_holdout(section) -> bool:
    return bool(section) and section["dataset"]["name"] == "HoldOut"


def _class_names(view, class_num, classes) -> list[str]:
    base_names = getattr(view.base, "class_names", None) if view is not None else None
    if classes:
        return [base_names[c] if base_names else str(c) for c in classes]
    return list(base_names) if base_names else [str(i) for i in range(class_num)]


__all__ = ["DATASETS", "EVAL_DATASETS", "Data", "DataSpec", "View", "build_data", "check_transforms",
           "mix_options", "train_loader", "eval_loader", "loader_section", "holdout"]
