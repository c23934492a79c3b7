"""PaddleClas `transform_ops` (ppcls/data/preprocess) as the suite's transforms.

    DecodeImage {to_rgb: True, channel_first: False}   reading (the suite reads RGB)
    RandCropImage {size, scale, ratio}                  RandomResizedCrop
    RandFlipImage {flip_code: 1 | 0}                    RandomHorizontalFlip / RandomVerticalFlip
    ResizeImage {resize_short} | {size: [w, h]}         Resize (shorter side | [h, w])
    CropImage {size}                                    CenterCrop
    ColorJitter {brightness, contrast, saturation, hue} ColorJitter
    NormalizeImage {scale: 1/255, mean, std, order}     ToCHW + Normalize
    ToCHWImage                                          (ToCHW, already placed)

Interpolation and back-end options other than PaddleClas's defaults (cv2, bilinear) are
refused, as are the augmentations the suite does not have (AutoAugment, RandAugment,
TimmAutoAugment, RandomErasing with PaddleClas's options, ...): each is named.
"""
from __future__ import annotations

import re

from ..errors import ConfigError

SCALE = re.compile(r"^\s*1(\.0*)?\s*/\s*255(\.0*)?\s*$")
DEFAULTS = {"interpolation": (None, "bilinear", "LINEAR"), "backend": (None, "cv2")}


def transform_ops(items, path: str) -> list:
    """The suite's transform list for PaddleClas `transform_ops`."""
    if not isinstance(items, list):
        raise ConfigError(f"{path}: expected a list of '- Name: {{options}}' entries.")
    out = []
    for i, item in enumerate(items):
        name, options = (item, {}) if isinstance(item, str) else _entry(item, f"{path}[{i}]")
        where = f"{path}[{i}].{name}"
        if name not in OPS:
            raise ConfigError(f"{where}: the suite has no equivalent of this PaddleClas "
                              f"operator. Supported: {', '.join(OPS)}.")
        _defaults_only(options, where)
        out += OPS[name]({k: v for k, v in options.items() if k not in DEFAULTS}, where)
    if not any("ToCHW" in item for item in out):
        out.append({"ToCHW": {}})
    return out


def _entry(item, path: str) -> tuple[str, dict]:
    if not isinstance(item, dict) or len(item) != 1:
        raise ConfigError(f"{path}: expected one '- Name: {{options}}' entry, got {item!r}.")
    name, options = next(iter(item.items()))
    if options is not None and not isinstance(options, dict):
        raise ConfigError(f"{path}.{name}: expected a mapping of options, got {options!r}.")
    return name, options or {}


def _defaults_only(options: dict, where: str) -> None:
    for key, allowed in DEFAULTS.items():
        if options.get(key) not in allowed:
            raise ConfigError(f"{where}.{key}: {options[key]!r} is not supported (the suite "
                              "resizes with OpenCV, bilinear, as PaddleClas does by default).")


def _only(options: dict, keys: tuple, where: str) -> None:
    for key in options:
        if key not in keys:
            raise ConfigError(f"{where}.{key}: not supported (this operator takes "
                              f"{', '.join(keys) or 'no options'} here).")


def _decode(options: dict, where: str) -> list:
    _only(options, ("to_rgb", "channel_first"), where)
    if options.get("to_rgb", True) is not True or options.get("channel_first", False):
        raise ConfigError(f"{where}: the suite reads images as HWC RGB (to_rgb: True, "
                          "channel_first: False).")
    return []


def _rand_crop(options: dict, where: str) -> list:
    _only(options, ("size", "scale", "ratio"), where)
    crop = {"size": options["size"]}
    for key in ("scale", "ratio"):
        if options.get(key) is not None:
            crop[key] = list(options[key])
    return [{"RandomResizedCrop": crop}]


def _flip(options: dict, where: str) -> list:
    _only(options, ("flip_code",), where)
    code = options.get("flip_code", 1)
    if code not in (0, 1):
        raise ConfigError(f"{where}.flip_code: {code!r} is not supported (1: horizontal, "
                          "0: vertical).")
    return [{"RandomHorizontalFlip" if code == 1 else "RandomVerticalFlip": {"prob": 0.5}}]


def _resize(options: dict, where: str) -> list:
    _only(options, ("resize_short", "size"), where)
    if ("resize_short" in options) == ("size" in options):
        raise ConfigError(f"{where}: give exactly one of resize_short and size.")
    if "resize_short" in options:
        return [{"Resize": {"size": options["resize_short"]}}]
    size = options["size"]
    return [{"Resize": {"size": [size, size] if isinstance(size, int) else
                        [size[1], size[0]]}}]   # PaddleClas: [w, h]


def _crop(options: dict, where: str) -> list:
    _only(options, ("size",), where)
    size = options.get("size", 224)
    return [{"CenterCrop": {"size": size if isinstance(size, int) else [size[1], size[0]]}}]


def _jitter(options: dict, where: str) -> list:
    _only(options, ("brightness", "contrast", "saturation", "hue"), where)
    return [{"ColorJitter": dict(options)}]


def _normalize(options: dict, where: str) -> list:
    _only(options, ("scale", "mean", "std", "order", "channel_num"), where)
    scale = options.get("scale", 1 / 255.0)
    if not ((isinstance(scale, str) and SCALE.match(scale)) or
            (isinstance(scale, (int, float)) and abs(scale - 1 / 255.0) < 1e-6)):
        raise ConfigError(f"{where}.scale: {scale!r} is not supported (1.0/255.0: the suite "
                          "scales pixels to [0, 1] before normalising).")
    if options.get("order", "") not in ("", "hwc"):
        raise ConfigError(f"{where}.order: {options['order']!r} is not supported ('' or hwc).")
    return [{"ToCHW": {}}, {"Normalize": {"mean": list(options.get("mean", [0.485, 0.456, 0.406])),
                                          "std": list(options.get("std", [0.229, 0.224, 0.225]))}}]


def _to_chw(options: dict, where: str) -> list:
    _only(options, (), where)
    return []   # NormalizeImage placed ToCHW; without one, transform_ops() appends it


OPS = {"DecodeImage": _decode, "RandCropImage": _rand_crop, "RandFlipImage": _flip,
       "ResizeImage": _resize, "CropImage": _crop, "ColorJitter": _jitter,
       "NormalizeImage": _normalize, "ToCHWImage": _to_chw}


def output_size(transforms: list) -> tuple[int, int] | None:
    """(height, width) the last size-setting transform gives, if it fixes both."""
    size = None
    for item in transforms:
        name, options = next(iter(item.items()))
        if name in ("CenterCrop", "RandomResizedCrop") or (name == "Resize" and
                                                           not isinstance(options["size"], int)):
            value = options["size"]
            size = (value, value) if isinstance(value, int) else tuple(value)
        elif name == "Resize":
            size = None
    return size
