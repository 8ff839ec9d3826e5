"""Built-in demo data for the generative variants, drawn procedurally (ships as code).

Ten classes of glyphs — disc, ring, square, frame, triangle, hollow triangle, plus,
cross, "=" and two dots — each with its own random position, size, rotation (±15°),
stroke width and grey levels, anti-aliased by supersampling. Sample `i` is a pure
function of `i`: the same id always gives the same image, so training, preview,
evaluation and classifier-training sets are told apart by disjoint id ranges.

CoGAN's two domains come from the same generator: domain A is the glyph, domain B its
colour inversion (255 − x), drawn from disjoint ids so no training pair ever exists;
the known correspondence is what `evaluate` scores generated pairs against.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from translate.data.bundle import DataBundle, JudgeData
from translate.errors import ConfigError

CLASS_NAMES = ["disc", "ring", "square", "frame", "triangle", "hollow_triangle", "plus", "cross", "equals", "dots"]
# id ranges: training data, preview/evaluation data, the judging classifier's own data
TRAIN_OFFSET, HELD_OUT_OFFSET, CLASSIFIER_OFFSET = 0, 1_000_000, 2_000_000


def _triangle_distance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Max over the edges of (distance outside the edge) for the apex-up equilateral triangle
    of circumradius 1 in y-up coordinates: < 0 inside, −(distance to the nearest edge)."""
    d = -y - 0.5  # bottom edge; the inradius is half the circumradius
    for angle in (np.pi / 6, 5 * np.pi / 6):  # outward normals of the two slanted edges
        d = np.maximum(d, x * np.cos(angle) + y * np.sin(angle) - 0.5)
    return d


def glyph_mask(label: int, u: np.ndarray, v: np.ndarray, t: float) -> np.ndarray:
    """Boolean mask of glyph `label` in local coordinates (u right, v down, extent ≈ ±1), stroke `t`."""
    au, av = np.abs(u), np.abs(v)
    r, box = np.hypot(u, v), np.maximum(au, av)
    if label == 0:
        return r < 0.95
    if label == 1:
        return np.abs(r - 0.8) < t
    if label == 2:
        return box < 0.8
    if label == 3:
        return np.abs(box - 0.78) < t
    if label in (4, 5):
        d = _triangle_distance(u / 1.25, (0.2 - v) / 1.25)  # apex up, centred on its bounding box
        return d < 0 if label == 4 else (d < 0) & (d > -0.8 * t)
    if label == 6:
        return ((au < t) & (av < 0.95)) | ((av < t) & (au < 0.95))
    if label == 7:
        p, q = (u + v) / np.sqrt(2), (u - v) / np.sqrt(2)
        return ((np.abs(p) < t) & (np.abs(q) < 0.95)) | ((np.abs(q) < t) & (np.abs(p) < 0.95))
    if label == 8:
        return (au < 0.85) & ((np.abs(v - 0.38) < t) | (np.abs(v + 0.38) < t))
    if label == 9:
        return (np.hypot(u - 0.5, v) < 0.34) | (np.hypot(u + 0.5, v) < 0.34)
    raise ValueError(f"glyph label {label} out of range 0..{len(CLASS_NAMES) - 1}")


def render(sample_id: int, size: int, supersample: int = 4) -> tuple[np.ndarray, int]:
    """(HxW uint8 image, label) of sample `sample_id`; the label is `sample_id % 10`."""
    label = sample_id % len(CLASS_NAMES)
    rng = np.random.default_rng(sample_id)
    scale = rng.uniform(0.55, 0.8)
    cx, cy = rng.uniform(-0.12, 0.12, size=2)
    angle = np.deg2rad(rng.uniform(-15, 15))
    t = rng.uniform(0.13, 0.22)
    fg, bg = rng.uniform(0.75, 1.0), rng.uniform(0.0, 0.15)
    s = size * supersample
    grid = (np.arange(s) + 0.5) / s * 2 - 1
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    x, y = (xx - cx) / scale, (yy - cy) / scale
    c, sn = np.cos(angle), np.sin(angle)
    u, v = c * x + sn * y, -sn * x + c * y
    img = np.where(glyph_mask(label, u, v, t), fg, bg)
    img = img.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    return (img * 255 + 0.5).astype(np.uint8), label


def render_many(ids: range | list[int], size: int) -> tuple[np.ndarray, np.ndarray]:
    """([n, H, W] uint8 images, [n] int64 labels) for the given sample ids."""
    pairs = [render(i, size) for i in ids]
    return np.stack([p[0] for p in pairs]), np.array([p[1] for p in pairs], dtype=np.int64)


def to_tensors(images: np.ndarray, channels: int) -> Tensor:
    """[n, H, W] uint8 → [n, channels, H, W] float in [-1, 1] (grey repeated for RGB)."""
    x = torch.from_numpy(images).float().div(127.5).sub(1.0).unsqueeze(1)
    return x.repeat(1, channels, 1, 1) if channels > 1 else x


class Glyphs(Dataset):
    """`n` glyphs (balanced classes) from id `offset`; items {"image": [C,H,W] in [-1,1], "label"}."""

    def __init__(self, cfg: Any, n: int, offset: int = TRAIN_OFFSET) -> None:
        self.images, self.labels = render_many(range(offset, offset + n), cfg.image_size)
        self.channels = cfg.channels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        index = key[0] if isinstance(key, tuple) else key  # procedural variety: no augmentation
        return {"image": to_tensors(self.images[index : index + 1], self.channels)[0],
                "label": torch.tensor(int(self.labels[index]))}


class InvertedGlyphPairs(Dataset):
    """CoGAN's demo: A = glyphs, B = inverted glyphs from disjoint ids (never a pair)."""

    def __init__(self, cfg: Any, n: int, offset: int = TRAIN_OFFSET) -> None:
        self.a, _ = render_many(range(offset, offset + n), cfg.image_size)
        self.b, _ = render_many(range(offset + n, offset + 2 * n), cfg.image_size)
        self.b = 255 - self.b
        self.channels = cfg.channels

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        b_index = int(np.random.default_rng(seed).integers(len(self.b)))  # B drawn independently
        return {"A": to_tensors(self.a[index : index + 1], self.channels)[0],
                "B": to_tensors(self.b[b_index : b_index + 1], self.channels)[0]}


def held_out(cfg: Any, n: int) -> dict[str, Tensor]:
    """Real held-out glyphs {"images": [n,C,H,W] in [-1,1], "labels": [n]} for evaluation."""
    images, labels = render_many(range(HELD_OUT_OFFSET, HELD_OUT_OFFSET + n), cfg.image_size)
    return {"images": to_tensors(images, cfg.channels), "labels": torch.from_numpy(labels)}


def judge_data(image_size: int, channels: int) -> JudgeData:
    """What the glyph demo's judge trains on: 3,000 real glyphs (1,000 more to test it); the key
    hashes this renderer's source, so a changed demo retrains it."""
    digest = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:10]

    def make_data() -> tuple[Tensor, Tensor, Tensor, Tensor]:
        images, labels = render_many(range(CLASSIFIER_OFFSET, CLASSIFIER_OFFSET + 4000), image_size)
        x, y = to_tensors(images, channels), torch.from_numpy(labels)
        return x[:3000], y[:3000], x[3000:], y[3000:]

    return JudgeData(f"glyphs-{digest}-{image_size}px-{channels}ch", make_data, len(CLASS_NAMES))


def ground_truth(cfg: Any, n: int) -> dict[str, Any]:
    """Held-out real glyphs, their class names, and what the judge trains on (translate.metrics.judge
    trains it, or reads it from the cache, on first use)."""
    return {**held_out(cfg, n), "judge": judge_data(cfg.image_size, cfg.channels), "class_names": list(CLASS_NAMES)}


def _bundle(items: type, cfg: Any, options: dict[str, Any], eval_size: int, **truth: Any) -> DataBundle:
    if options.get("data_b") is not None:
        raise ConfigError("--data-b needs --data too (the demo has its own two domains)")
    return DataBundle(
        train=items(cfg, options.get("demo_size", 6000)),
        preview=items(cfg, 16, offset=HELD_OUT_OFFSET),
        source="demo",
        ground_truth={**ground_truth(cfg, options.get("eval_size", eval_size)), **truth},
        in_memory=True,
    )


def single_bundle(cfg: Any, **options: Any) -> DataBundle:
    """The "noise" kind's demo: glyphs, judged by a glyph classifier."""
    return _bundle(Glyphs, cfg, options, 2000)


def labelled_bundle(cfg: Any, **options: Any) -> DataBundle:
    """The "labelled" kind's demo: the ten glyph classes, by name."""
    bundle = single_bundle(cfg, **options)
    bundle.info["class_names"] = list(CLASS_NAMES)
    return bundle


def two_domain_bundle(cfg: Any, **options: Any) -> DataBundle:
    """The "two_folders" kind's demo: glyphs (A) and inverted glyphs (B) from disjoint samples."""
    return _bundle(InvertedGlyphPairs, cfg, options, 1000, mapping="invert")


__all__ = ["CLASS_NAMES", "Glyphs", "InvertedGlyphPairs", "judge_data", "ground_truth", "held_out", "render",
           "render_many", "to_tensors"]
