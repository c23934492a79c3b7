"""Transforms and augmentation from config, built on `paddle.vision.transforms`.

Images travel as HWC uint8 numpy arrays through the geometric/colour ops, then `ToCHW` turns
them into CHW float32 in [0, 1]; `Normalize`, `GaussianNoise` and `RandomErasing` work on that.
A pipeline without `ToCHW` gets one appended. Config form (PaddleClas style):

    transforms:
      - RandomRotation: {degrees: 10}
      - ToCHW: {}
      - Normalize: {mean: [0.5], std: [0.5]}
"""
from __future__ import annotations

import cv2
import numpy as np
import paddle.vision.transforms as T

from ..core.schema import check_kwargs, choose
from ..errors import OptionError


class _KeepHWC:
    """Run a paddle.vision transform on an HWC array and restore a dropped channel axis."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, img):
        out = np.asarray(self.transform(img))
        return out[:, :, None] if out.ndim == 2 else out

    def __repr__(self):
        return repr(self.transform)


class ToCHW:
    """HWC uint8 -> CHW float32 scaled to [0, 1]."""

    def __call__(self, img):
        return np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32) / 255.0


class GaussianNoise:
    """Add N(0, std) noise (on the [0, 1] scale) with probability `prob`."""

    def __init__(self, std: float, prob: float):
        self.std, self.prob = std, prob

    def __call__(self, img):
        if np.random.random() >= self.prob:
            return img
        return (img + np.random.normal(0.0, self.std, img.shape)).astype(np.float32)


class ElasticDistortion:
    """Simard, Steinkraus and Platt (2003)'s elastic distortion: each pixel moves by a random
    field, uniform in [-1, 1], smoothed by a Gaussian of `sigma` pixels and scaled by `alpha`
    pixels; resampled bilinearly, zeros outside (torchvision's ElasticTransform, on HWC)."""

    def __init__(self, alpha: float, sigma: float, prob: float):
        self.alpha, self.sigma, self.prob = alpha, sigma, prob
        self.grids = {}  # (h, w) -> the identity map, (h, w, 2)

    def __call__(self, img):
        if np.random.random() >= self.prob:
            return img
        h, w = img.shape[:2]
        if (h, w) not in self.grids:
            x, y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
            self.grids[h, w] = np.dstack([x, y])
        noise = np.random.uniform(-1, 1, (h, w, 2)).astype(np.float32)
        field = cv2.GaussianBlur(noise, (0, 0), self.sigma) * self.alpha + self.grids[h, w]
        out = cv2.remap(img, field, None, interpolation=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return out.reshape(img.shape)

    def __repr__(self):
        return f"ElasticDistortion(alpha={self.alpha}, sigma={self.sigma}, prob={self.prob})"


def elastic(alpha: float = 34.0, sigma: float = 4.0, prob: float = 1.0):
    """Elastic distortion (Simard et al. 2003; their MNIST setting: alpha 34, sigma 4)."""
    if sigma <= 0 or alpha < 0 or not 0 <= prob <= 1:
        raise OptionError("ElasticDistortion: sigma must be positive, alpha at least 0 and "
                          f"prob in [0, 1]; got alpha {alpha}, sigma {sigma}, prob {prob}.")
    return ElasticDistortion(alpha, sigma, prob)


def resize(size: int | list[int]):
    """Resize to `size` (an int resizes the shorter side; [h, w] is exact)."""
    return _KeepHWC(T.Resize(size))


def random_crop(size: int | list[int], padding: int = 0):
    """Random crop of `size` after zero-padding each side by `padding`."""
    return _KeepHWC(T.RandomCrop(size, padding=padding or None))


def random_resized_crop(size: int | list[int], scale: list[float] = (0.08, 1.0),
                        ratio: list[float] = (3 / 4, 4 / 3)):
    """Crop a random area (`scale` of the image, aspect `ratio`) and resize it to `size`
    (Inception-style; PaddleClas's RandCropImage)."""
    return _KeepHWC(T.RandomResizedCrop(size, scale=tuple(scale), ratio=tuple(ratio)))


def center_crop(size: int | list[int]):
    """Centre crop of `size`."""
    return _KeepHWC(T.CenterCrop(size))


def pad(padding: int | list[int], fill: int = 0):
    """Pad every side by `padding` pixels of value `fill`."""
    return _KeepHWC(T.Pad(padding, fill=fill))


def horizontal_flip(prob: float = 0.5):
    """Mirror left-right with probability `prob` (wrong for digits; right for most photos)."""
    return _KeepHWC(T.RandomHorizontalFlip(prob))


def vertical_flip(prob: float = 0.5):
    """Mirror top-bottom with probability `prob`."""
    return _KeepHWC(T.RandomVerticalFlip(prob))


def rotation(degrees: float = 10.0):
    """Rotate by a random angle in [-degrees, degrees]."""
    return _KeepHWC(T.RandomRotation(degrees))


def affine(degrees: float = 0.0, translate: list[float] | None = None,
           scale: list[float] | None = None, shear: float | None = None):
    """Random affine: rotation, translation (fractions of size), scale range, shear."""
    return _KeepHWC(T.RandomAffine(degrees, translate=translate, scale=scale, shear=shear))


def color_jitter(brightness: float = 0.0, contrast: float = 0.0, saturation: float = 0.0,
                 hue: float = 0.0):
    """Random brightness/contrast (any image) and saturation/hue (3-channel images only)."""
    return _KeepHWC(T.ColorJitter(brightness, contrast, saturation, hue))


def to_chw():
    """Convert to CHW float32 in [0, 1] (required before Normalize / GaussianNoise / RandomErasing)."""
    return ToCHW()


class Normalize:
    """(x - mean) / std per channel of a CHW image; one mean and std per channel (a single
    value applies to every channel). A count that fits neither is an error, not a silent
    broadcast that turns a gray image into three channels."""

    def __init__(self, mean, std):
        if len(mean) != len(std):
            raise OptionError(f"Normalize: {len(mean)} means but {len(std)} stds.")
        if any(s == 0 for s in std):
            raise OptionError("Normalize: std must not be 0.")
        self.mean = np.asarray(mean, np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(std, np.float32).reshape(-1, 1, 1)

    def __call__(self, img):
        if len(self.mean) not in (1, img.shape[0]):
            raise ValueError(f"Normalize has {len(self.mean)} means and stds, but the image has "
                             f"{img.shape[0]} channel(s) (Arch.in_channels); give one value per "
                             "channel")
        return ((img - self.mean) / self.std).astype(np.float32)

    def __repr__(self):
        return f"Normalize(mean={self.mean.ravel().tolist()}, std={self.std.ravel().tolist()})"


def normalize(mean: list[float] = (0.5,), std: list[float] = (0.5,)):
    """(x - mean) / std per channel, on the [0, 1] scale."""
    return Normalize(list(mean), list(std))


def gaussian_noise(std: float = 0.05, prob: float = 1.0):
    """Additive Gaussian noise on the [0, 1] scale."""
    return GaussianNoise(std, prob)


def random_erasing(prob: float = 0.5, scale: list[float] = (0.02, 0.33)):
    """Erase a random rectangle (cutout) with probability `prob`."""
    return T.RandomErasing(prob=prob, scale=list(scale))


UINT8_OPS = {
    "Resize": resize, "RandomCrop": random_crop, "RandomResizedCrop": random_resized_crop,
    "CenterCrop": center_crop, "Pad": pad,
    "RandomHorizontalFlip": horizontal_flip, "RandomVerticalFlip": vertical_flip,
    "RandomRotation": rotation, "RandomAffine": affine, "ColorJitter": color_jitter,
    "ElasticDistortion": elastic,
}
FLOAT_OPS = {"Normalize": normalize, "GaussianNoise": gaussian_noise,
             "RandomErasing": random_erasing}
TRANSFORMS = {**UINT8_OPS, "ToCHW": to_chw, **FLOAT_OPS}


def _split_item(item, path):
    if not isinstance(item, dict) or len(item) != 1:
        raise OptionError(f"{path}: expected one '- Name: {{options}}' entry, got {item!r}.")
    name, options = next(iter(item.items()))
    return name, {} if options is None else options


def check_transforms(items, path: str) -> list:
    """Validate a transform list; return it with every option filled in."""
    if items is None:
        return [{"ToCHW": {}}]
    if not isinstance(items, list):
        raise OptionError(f"{path}: expected a list of '- Name: {{options}}' entries.")
    resolved, seen_chw = [], False
    for i, item in enumerate(items):
        name, options = _split_item(item, f"{path}[{i}]")
        factory = choose(TRANSFORMS, name, f"{path}[{i}]", "transform")
        if name in UINT8_OPS and seen_chw:
            raise OptionError(f"{path}[{i}]: {name} works on HWC uint8 images and must come "
                              "before ToCHW.")
        if name in FLOAT_OPS and not seen_chw:
            raise OptionError(f"{path}[{i}]: {name} works on CHW float images; put "
                              "'- ToCHW: {}' before it.")
        seen_chw = seen_chw or name == "ToCHW"
        resolved.append({name: check_kwargs(factory, options, f"{path}[{i}].{name}")})
    return resolved if seen_chw else resolved + [{"ToCHW": {}}]


class Pipeline:
    """The transforms applied in order. paddle.vision's `Compose` prints a full stack trace
    whenever a transform fails, before re-raising; the suite reports the failure itself
    (one paragraph naming the config key), so the list is applied here instead."""

    def __init__(self, transforms: list):
        self.transforms = transforms

    def __call__(self, data):
        for transform in self.transforms:
            data = transform(data)
        return data


def build_transforms(items: list) -> Pipeline:
    """Build the transform pipeline of a validated transform list."""
    ops = []
    for item in items:
        name, options = next(iter(item.items()))
        ops.append(TRANSFORMS[name](**options))
    return Pipeline(ops)
