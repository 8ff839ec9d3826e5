"""The photos an int8 model is calibrated and judged on: any folder, read as convert reads it.

`calibration_images` picks up to N calibration images spread over the folder and up to M
held-out others, skips what convert would skip (with its reasons), and returns CHW float32
arrays in the net's input range: the calibration ones at one square size (onnxruntime's
calibrator stacks what it collects), the held-out ones at their own shape.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def calibration_images(folder: str | Path, meta: Any, count: int, max_side: int = 512, held_out: int = 0,
                       skipped: list[tuple[Path, str]] | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(calibration, held-out) images of `folder` as the net sees them: CHW float32 in its input
    range. Up to `count` calibration images spread over the folder, then up to `held_out` of the
    others (to score the int8 model on pictures it was not calibrated on).

    Any photos do: mixed sizes and orientations (EXIF applied), grayscale, RGBA, CMYK, 16-bit.
    Files convert would skip (not images, empty, broken) are skipped with convert's reasons,
    appended to `skipped`, and the next file takes their place. The calibration images share one
    square size (onnxruntime's calibrator stacks what it collects): each is scaled so its short
    side is the median short side of them all (at most `max_side`) and centre-cropped; the
    held-out ones keep their shape (shrunk to at most `max_side`, padded to the size multiple),
    as convert would feed them."""
    from translate.errors import DataError
    from translate.inference.convert import ConvertOptions, scan
    from translate.inference.image_io import BadImage, decode

    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"--calibrate {folder}: not a folder; give a folder of your photos")
    files, skip = scan(root)
    limit = ConvertOptions().max_pixels
    bad: set[Path] = set()

    def read(candidates: list[Path], n: int) -> list[tuple[Path, np.ndarray]]:
        got = []
        for f in candidates:
            if len(got) == n:
                break
            if f in bad:
                continue
            try:
                got.append((f, decode(f, meta.in_channels, limit).array))
            except BadImage as err:
                bad.add(f)
                skip.append((f, str(err)))
        return got

    step = max(1, len(files) // max(count, 1))
    spread = files[::step][:count]
    chosen = read(spread + [f for f in files if f not in set(spread)], count)
    if not chosen:
        if skipped is not None:
            skipped.extend(skip)
        raise DataError(f"no images to calibrate on in {folder}" + (f" ({len(skip)} files skipped: not images or unreadable)"
                                                                   if skip else ""))
    used = {f for f, _ in chosen}
    rest = [f for f in files if f not in used and f not in bad]
    wanted = rest[::max(1, len(rest) // held_out)] if held_out and rest else []
    held = read(wanted + [f for f in rest if f not in set(wanted)], held_out) if held_out else []
    if skipped is not None:
        skipped.extend(skip)
    side = _common_side([a for _, a in chosen], meta.size_multiple, max_side)
    return ([_to_range(_square(a, side), meta) for _, a in chosen],
            [_to_range(_judged(a, meta.size_multiple, max_side), meta) for _, a in held])


def _common_side(arrays: list[np.ndarray], multiple: int, max_side: int) -> int:
    short = sorted(min(a.shape[0], a.shape[1], max_side) for a in arrays)[len(arrays) // 2]
    return max(multiple, short // multiple * multiple)


def _square(arr: np.ndarray, side: int) -> np.ndarray:
    """HWC uint8 scaled (Lanczos) so its short side is `side`, centre-cropped to side × side."""
    from PIL import Image

    h, w = arr.shape[:2]
    scale = side / min(h, w)
    size = (max(side, round(w * scale)), max(side, round(h * scale)))
    img = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    if size != (w, h):
        img = img.resize(size, Image.Resampling.LANCZOS)
    left, top = (size[0] - side) // 2, (size[1] - side) // 2
    out = np.asarray(img.crop((left, top, left + side, top + side)))
    return out.reshape(side, side, -1)


def _judged(arr: np.ndarray, multiple: int, max_side: int) -> np.ndarray:
    """HWC uint8 shrunk to at most `max_side` per side (`_to_range` pads it to the size multiple)."""
    from PIL import Image

    img = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(img).reshape(img.height, img.width, -1)


def _to_range(arr: np.ndarray, meta: Any) -> np.ndarray:
    from translate.inference import tiling

    lo, hi = meta.in_range
    x = arr.astype(np.float32).transpose(2, 0, 1) * ((hi - lo) / 255.0) + lo
    m = meta.size_multiple
    x = tiling.pad_to(x[None], tiling.padded_size(x.shape[1], m, 2 * m), tiling.padded_size(x.shape[2], m, 2 * m))[0]
    return np.ascontiguousarray(x, dtype=np.float32)
