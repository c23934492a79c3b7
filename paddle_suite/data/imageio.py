"""Read image files safely: any file name, bounded size, one clear error.

OpenCV's `imread` takes a path as UTF-8 and crashes the process (a segmentation fault) on a
name that is not valid UTF-8 (Linux names are bytes; Python carries the odd ones as
surrogate escapes). Here the file is read as bytes by Python and decoded in memory with
`cv2.imdecode`, so any name the file system holds can be read. Before decoding, the file
size and the image's pixel count (from its header, through Pillow) are checked, so one
enormous image cannot exhaust memory.
"""
from __future__ import annotations

import io
import os
import re

import cv2
import numpy as np

from ..errors import DataError

MAX_IMAGE_BYTES = 256 << 20        # an image file larger than 256 MiB is refused
MAX_IMAGE_PIXELS = 100_000_000     # 100 megapixels (300 MB as RGB uint8)
MAX_SAMPLE_PIXELS = 4096 * 4096    # a sample the network is run on, after its transforms


def display_path(path) -> str:
    """A path as printable text: bytes that are not UTF-8 appear as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _header_pixels(data: bytes) -> int | None:
    """Width x height from the image header (no decoding); None if Pillow cannot tell."""
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        return int(width) * int(height)
    except Image.DecompressionBombError as exc:  # Pillow's own, lower limit: "(N pixels)"
        found = re.search(r"\((\d+) pixels\)", str(exc))
        return int(found.group(1)) if found else MAX_IMAGE_PIXELS + 1
    except Exception:  # noqa: BLE001 - not a format Pillow knows: OpenCV decides
        return None


def read_image(path, channels: int, where: str = "") -> np.ndarray:
    """Read an image file as HWC uint8 with `channels` channels (1 = gray, 3 = RGB)."""
    shown = display_path(path)
    place = f" (listed at {where})" if where and where != str(path) else ""
    try:
        size = os.stat(path).st_size
        if size > MAX_IMAGE_BYTES:
            raise DataError(f"Image {shown}{place} is a file of {size:,} bytes, over the "
                            f"{MAX_IMAGE_BYTES >> 20} MiB limit for one image.")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise DataError(f"Cannot read image {shown}{place}: {exc.strerror}.") from None
    pixels = _header_pixels(data)
    if pixels is None:  # OpenCV decodes formats (Radiance HDR, OpenEXR, PFM...) Pillow
        # cannot size, so their size could not be bounded before decoding
        raise DataError(f"Cannot read image {shown}{place}: the file is truncated or not an "
                        "image whose size its header states in a format the suite reads "
                        "(PNG, JPEG, BMP, TIFF, WebP, PNM, GIF...); convert it to PNG.")
    if pixels > MAX_IMAGE_PIXELS:
        raise DataError(f"Image {shown}{place} has {pixels:,} pixels, over the "
                        f"{MAX_IMAGE_PIXELS:,} limit for one image; resize it first.")
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), flag) if data else None
    except cv2.error:
        img = None
    if img is None:
        raise DataError(f"Cannot read image {shown}{place}: the file is truncated or not an "
                        "image OpenCV can decode.")
    if channels == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img[:, :, None] if img.ndim == 2 else img


def check_sample_size(sample, where: str) -> None:
    """Refuse a sample (CHW or HWC, after its transforms) larger than MAX_SAMPLE_PIXELS:
    without a Resize in the transforms, one large image would run through the network at
    full size."""
    shape = np.shape(sample)
    if len(shape) == 3:
        pixels = shape[1] * shape[2] if shape[0] <= 4 else shape[0] * shape[1]
        if pixels > MAX_SAMPLE_PIXELS:
            raise DataError(f"Sample {where} is {list(shape)} after its transforms: "
                            f"{pixels:,} pixels, over the {MAX_SAMPLE_PIXELS:,} the suite "
                            "runs a network on; add a Resize (or RandomResizedCrop) to the "
                            "transforms.")


def write_png(path, bgr: np.ndarray) -> None:
    """Write an image array (OpenCV's BGR order) as PNG; any file name works (see above)."""
    ok, buf = cv2.imencode(".png", bgr)
    if not ok:
        raise ValueError(f"cannot encode an image of shape {bgr.shape} as PNG")
    with open(path, "wb") as f:
        f.write(buf.tobytes())


__all__ = ["read_image", "write_png", "display_path", "check_sample_size", "MAX_IMAGE_BYTES",
           "MAX_IMAGE_PIXELS", "MAX_SAMPLE_PIXELS"]
