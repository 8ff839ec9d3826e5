"""Sampling noise-driven generators into a grid PNG (or single PNGs).

Conditional models: `label` (index or class name) fixes the class; without one, the grid
has one row per class and one column per z (the same z across a column, so a row shows
the class and a column the style). Models with several noise translators (CoGAN) put the
same z through each and show the outputs side by side.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from translate.inference.image_io import encode
from translate.errors import ConfigError
from translate.inference.translator import Model, Translator

CHUNK = 64  # samples per forward pass


def noise_translators(model: Model, direction: str | None = None) -> list[Translator]:
    """The named translator, or every noise translator sharing the first one's inputs."""
    if direction is not None:
        chosen = [model.pick(direction)]
    else:
        noise = [t for t in model.translators.values() if t.kind == "noise"]
        chosen = [t for t in noise if (t.meta.z_dim, t.num_classes) == (noise[0].meta.z_dim, noise[0].num_classes)]
    if not chosen or chosen[0].kind != "noise":
        raise ConfigError(f"{model.source} translates images rather than sampling noise: use `translate convert`")
    return chosen


def sample(model: Model, out: str | Path, n: int = 64, label: str | int | None = None, seed: int = 0,
           separate: bool = False, direction: str | None = None) -> list[Path]:
    """Write a grid PNG to `out` (or, with `separate`, one PNG per sample into folder `out`)."""
    if n < 1:
        raise ConfigError(f"-n must be at least 1, got {n}")
    ts = noise_translators(model, direction)
    first = ts[0]
    rng = np.random.default_rng(seed)
    z_dim, nc = first.meta.z_dim, first.num_classes
    names: list[str] = []
    if nc and label is None:  # one row per class, the same z down each column
        per = max(1, n // nc)
        z = np.tile(latents(rng, per, z_dim, first.meta.z_dist), (nc, 1))
        labels: np.ndarray | None = np.repeat(np.arange(nc), per)
        cols = per
        names = [(first.class_names or [str(c) for c in range(nc)])[c] for c in labels]
    else:
        if label is not None and not nc:
            raise ConfigError(f"translator '{first.name}' is unconditional: drop --label")
        z = latents(rng, n, z_dim, first.meta.z_dist)
        labels = np.full(n, first.label_index(label)) if label is not None else None
        cols = math.ceil(math.sqrt(n))
        if labels is not None:
            names = [(first.class_names or [str(i) for i in range(nc)])[int(labels[0])]] * n
    images = {t.name: _generate(t, z, labels) for t in ts}
    out = Path(out)
    if separate:
        return _write_separate(images, out, names)
    cells = [_side_by_side([images[t.name][i] for t in ts]) for i in range(len(z))]
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        out = out.with_name(out.name + ".png")
    return [encode(grid(cells, cols), out)]


def latents(rng: np.random.Generator, n: int, z_dim: int, dist: str = "normal") -> np.ndarray:
    """[n, z_dim] float32 codes from the distribution the generator was trained on (meta "z_dist")."""
    if dist == "normal":
        return rng.standard_normal((n, z_dim)).astype(np.float32)
    if dist == "uniform":
        return rng.uniform(-1.0, 1.0, (n, z_dim)).astype(np.float32)
    raise ConfigError(f"unknown z_dist '{dist}' in the model's meta; expected normal or uniform")


def _generate(t: Translator, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    parts = [t.generate(z[i : i + CHUNK], None if labels is None else labels[i : i + CHUNK]) for i in range(0, len(z), CHUNK)]
    return np.concatenate(parts)


def _write_separate(images: dict[str, np.ndarray], folder: Path, names: list[str]) -> list[Path]:
    paths = []
    for name, batch in images.items():
        for i, img in enumerate(batch):
            stem = f"{names[i]}_{i:05d}" if names else f"{i:05d}"
            suffix = f"_{name}" if len(images) > 1 else ""
            paths.append(encode(img, folder / f"{stem}{suffix}.png"))
    return paths


def _rgb_like(images: list[np.ndarray]) -> list[np.ndarray]:
    channels = max(im.shape[-1] for im in images)
    return [np.repeat(im, channels, -1) if im.shape[-1] != channels else im for im in images]


def _side_by_side(images: list[np.ndarray], gap: int = 1) -> np.ndarray:
    """Images of one z from several translators, left to right, `gap` white pixels apart."""
    images = _rgb_like(images)
    if len(images) == 1:
        return images[0]
    h = max(im.shape[0] for im in images)
    parts = []
    for im in images:
        parts += [_pad_to(im, h, im.shape[1]), np.full((h, gap, im.shape[2]), 255, np.uint8)]
    return np.concatenate(parts[:-1], 1)


def grid(cells: list[np.ndarray], cols: int, pad: int = 2) -> np.ndarray:
    """Equal cells in rows of `cols`, `pad` white pixels around each."""
    cells = _rgb_like(cells)
    h, w, c = (max(x.shape[i] for x in cells) for i in range(3))
    rows = math.ceil(len(cells) / cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for i, cell in enumerate(cells):
        r, k = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        out[y : y + cell.shape[0], x : x + cell.shape[1]] = cell
    return out


def _pad_to(im: np.ndarray, h: int, w: int) -> np.ndarray:
    if im.shape[:2] == (h, w):
        return im
    out = np.full((h, w, im.shape[2]), 255, np.uint8)
    out[: im.shape[0], : im.shape[1]] = im
    return out
