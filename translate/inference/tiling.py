"""Full-resolution inference helpers: reflect-pad to a size multiple, and overlapping tiles
blended with a smooth window (so memory stays bounded and seams stay invisible).

Everything here is numpy on NCHW float32 arrays; `forward` is any function mapping an
input batch [N, C, h, w] to an output batch [N, C', scale·h, scale·w].
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

Forward = Callable[[np.ndarray], np.ndarray]


def padded_size(size: int, multiple: int, minimum: int = 1) -> int:
    """The smallest multiple of `multiple` that is ≥ max(size, minimum)."""
    size = max(size, minimum)
    return -(-size // multiple) * multiple


def pad_to(batch: np.ndarray, height: int, width: int) -> np.ndarray:
    """Reflect-pad [N, C, H, W] at the bottom/right to (height, width) (repeats reflections if needed)."""
    h, w = batch.shape[-2:]
    if (h, w) == (height, width):
        return batch
    return np.pad(batch, ((0, 0), (0, 0), (0, height - h), (0, width - w)), mode="reflect")


def starts(length: int, tile: int, overlap: int, multiple: int) -> list[int]:
    """Tile start offsets along one axis: every start and the stride are multiples of `multiple`."""
    if length <= tile:
        return [0]
    stride = max(multiple, (tile - overlap) // multiple * multiple)
    out = list(range(0, length - tile, stride))
    last = (length - tile) // multiple * multiple
    if not out or out[-1] != last:
        out.append(last)
    return out


def ramp_window(length: int, ramp: int, rise: bool, fall: bool) -> np.ndarray:
    """1-D weights: sin² rises over `ramp` samples at the start (if `rise`), falls at the end
    (if `fall`), 1 elsewhere; never exactly 0, so every pixel keeps a positive weight."""
    w = np.ones(length, dtype=np.float32)
    ramp = min(ramp, length // 2)
    if ramp > 0:
        up = np.sin(0.5 * np.pi * (np.arange(ramp, dtype=np.float32) + 0.5) / ramp) ** 2
        if rise:
            w[:ramp] = up
        if fall:
            w[-ramp:] = np.minimum(w[-ramp:], up[::-1])
    return w


def run_tiled(
    forward: Forward,
    image: np.ndarray,
    tile: int,
    overlap: int,
    multiple: int,
    scale: int,
    tiles_per_batch: int = 1,
) -> np.ndarray:
    """Translate one padded image [1, C, H, W] (H, W multiples of `multiple`) tile by tile.

    Tiles of `tile` pixels per side (rounded down to the size multiple) overlap by `overlap`
    pixels; each output tile is weighted by a separable sin² window that ramps only towards
    neighbouring tiles, and the weighted sum is normalised by the summed weights.
    """
    _, _, height, width = image.shape
    tile = max(multiple, tile // multiple * multiple)
    overlap = min(overlap // multiple * multiple, tile - multiple)
    th, tw = min(tile, height), min(tile, width)
    ys, xs = starts(height, th, overlap, multiple), starts(width, tw, overlap, multiple)
    boxes = [(y, x) for y in ys for x in xs]
    out: np.ndarray | None = None
    weight = np.zeros((height * scale, width * scale), dtype=np.float32)
    for i in range(0, len(boxes), max(1, tiles_per_batch)):
        group = boxes[i : i + max(1, tiles_per_batch)]
        result = forward(np.concatenate([image[:, :, y : y + th, x : x + tw] for y, x in group]))
        if out is None:
            out = np.zeros((1, result.shape[1], height * scale, width * scale), dtype=np.float32)
        for (y, x), piece in zip(group, result):
            wy = ramp_window(th * scale, overlap * scale, y > 0, y + th < height)
            wx = ramp_window(tw * scale, overlap * scale, x > 0, x + tw < width)
            w2 = wy[:, None] * wx[None, :]
            sy, sx = slice(y * scale, (y + th) * scale), slice(x * scale, (x + tw) * scale)
            out[0, :, sy, sx] += piece * w2
            weight[sy, sx] += w2
    assert out is not None
    return out / weight
