"""Reading and writing the images of a folder conversion.

`decode` turns any readable image (grayscale, RGBA, palette, 16-bit, CMYK, EXIF-rotated)
into an HxWxC uint8 array and keeps its alpha and ICC profile; anything it cannot read
raises `BadImage` with a one-line reason (empty, not an image, truncated, too large...).
`encode` writes atomically: a temp file in the target folder, renamed over the target, so
a crash or Ctrl-C never leaves a partial output behind.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from translate.data.images import IMAGE_EXTENSIONS, to_mode  # noqa: F401 - re-exported; torch-free
from translate.files import atomic_write, first_line

FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP",
           ".tif": "TIFF", ".tiff": "TIFF", ".ppm": "PPM"}
DEFAULT_OUT = {".gif": ".png", ".pgm": ".png"}  # inputs whose own format would lose colours
ALPHA_FORMATS = {"PNG", "WEBP", "TIFF"}
CHOICES = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp"}


class BadImage(Exception):
    """An input file that cannot be converted; str() is the one-line reason."""


@dataclass
class Decoded:
    array: np.ndarray  # HxWxC uint8
    alpha: np.ndarray | None = None  # HxW uint8, when the input had transparency
    icc: bytes | None = None


def decode(path: Path, channels: int, max_pixels: int) -> Decoded:
    """Read `path` as an HxWx`channels` uint8 array (EXIF orientation applied)."""
    try:
        size = path.stat().st_size
    except OSError as err:
        raise BadImage(f"cannot read: {err.strerror or err}") from None
    if size == 0:
        raise BadImage("empty file (0 bytes)")
    try:
        with Image.open(path) as img:
            w, h = img.size
            if w * h > max_pixels:
                raise BadImage(_too_large(w, h, max_pixels))
            img.load()
            icc = img.info.get("icc_profile")
            img = ImageOps.exif_transpose(img)
            alpha = alpha_of(img)
            arr = np.asarray(to_mode(img, channels))
    except BadImage:
        raise
    except Image.DecompressionBombError as err:
        raise BadImage(f"too large: {str(err).split(',')[0]} (decompression-bomb guard)") from None
    except UnidentifiedImageError:
        raise BadImage("not an image, or an unsupported image format") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, MemoryError) as err:
        text = first_line(err)
        kind = "truncated or corrupt" if "truncated" in text or isinstance(err, (OSError, SyntaxError, EOFError)) else "cannot decode"
        raise BadImage(f"{kind}: {text}") from None
    if arr.ndim == 2:
        arr = arr[..., None]
    return Decoded(np.ascontiguousarray(arr), alpha, icc if isinstance(icc, bytes) and channels == 3 else None)


def alpha_of(img: Image.Image) -> np.ndarray | None:
    """The HxW uint8 alpha of an (EXIF-oriented) image with transparency; None when it has none or
    every pixel is opaque. The colour channels are translated composited onto white (`to_mode`)."""
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info):
        alpha = np.asarray(img.convert("RGBA"))[..., 3].copy()
        return None if alpha.min() == 255 else alpha
    return None


def with_alpha(array: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    """An HxW(xC) uint8 output as a PIL image, the input's alpha put back (resized bicubic when the
    output is larger: super-resolution) — what convert writes and the Python API returns."""
    img = Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array)
    if alpha is not None:
        mask = Image.fromarray(alpha)
        if mask.size != img.size:
            mask = mask.resize(img.size, Image.Resampling.BICUBIC)
        img.putalpha(mask)
    return img


def _too_large(w: int, h: int, limit: int) -> str:
    return f"too large: {w}×{h} = {w * h:,} pixels exceeds the {limit:,}-pixel limit (decompression-bomb guard; see --max-pixels)"


def output_suffix(in_suffix: str, ext: str | None) -> str:
    """The output file suffix: `ext` if given, else the input's own (GIF/PGM become PNG)."""
    if ext:
        return CHOICES[ext.lower().lstrip(".")]
    low = in_suffix.lower()
    if low in DEFAULT_OUT:
        return DEFAULT_OUT[low]
    return in_suffix if low in FORMATS else ".png"


def encode(array: np.ndarray, path: Path, quality: int = 95, alpha: np.ndarray | None = None,
           icc: bytes | None = None, write: Callable[..., Path] = atomic_write) -> Path:
    """Write an HxWxC uint8 array to `path` (format from the suffix), atomically (through `write`:
    `atomic_write`, or a convert's `OutputTree.write`)."""
    fmt = FORMATS[path.suffix.lower()]
    img = with_alpha(array, alpha if fmt in ALPHA_FORMATS else None)
    options: dict[str, object] = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    if icc and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        options["icc_profile"] = icc
    return write(path, lambda fh: img.save(fh, format=fmt, **options))
