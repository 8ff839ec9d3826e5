"""Built-in demo data, generated procedurally (ships as code, not files): unpaired and paired.

"apples → oranges": each scene (fruit positions, sizes, lighting, background tone)
is rendered in two styles — domain A (red apples on grass) and domain B (oranges on a
wooden table). Training uses disjoint scenes for A and B, so the data is truly
unpaired; held-out scenes are rendered in both styles, which gives a ground truth to
score A→B and B→A translations against.

"label maps → scenes" (paired): A is a scene's label map (ground, shadow, fruit, leaf in flat
colours), B the same scene rendered; held-out pairs are the ground truth.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from translate.data import transforms as T
from translate.data.bundle import DataBundle
from translate.errors import ConfigError

STYLES = {
    #          background top,     background bottom,   fruit,              leaf
    "A": ((0.30, 0.58, 0.22), (0.12, 0.36, 0.10), (0.78, 0.07, 0.10), (0.35, 0.75, 0.20)),
    "B": ((0.88, 0.78, 0.58), (0.66, 0.52, 0.34), (0.98, 0.56, 0.06), (0.10, 0.38, 0.12)),
}
TEST_SCENE_OFFSET = 1_000_000
# The one held-out set: training's end (`Variant.evaluate`) and `translate eval` score these scenes.
HELD_OUT_SCENES = 100


def scene(scene_id: int) -> dict[str, Any]:
    """The geometry and lighting of one scene (shared by both styles)."""
    rng = np.random.default_rng(scene_id)
    n = int(rng.integers(1, 4))
    return {
        "centers": rng.uniform(0.2, 0.8, size=(n, 2)),
        "radii": rng.uniform(0.12, 0.26, size=n),
        "light": rng.uniform(-0.8, 0.8, size=2),
        "tone": float(rng.uniform(0.85, 1.1)),
        "leaf_angle": rng.uniform(-0.6, 0.6, size=n),
    }


def render(params: dict[str, Any], style: str, size: int, supersample: int = 2) -> np.ndarray:
    """HxWx3 uint8 image of `params` in `style` ("A" or "B")."""
    top, bottom, fruit, leaf = (np.array(c) for c in STYLES[style])
    s = size * supersample
    yy, xx = np.meshgrid((np.arange(s) + 0.5) / s, (np.arange(s) + 0.5) / s, indexing="ij")
    img = (top * (1 - yy[..., None]) + bottom * yy[..., None]) * params["tone"]
    lx, ly = params["light"]
    lz = np.sqrt(max(1e-3, 1.0 - 0.5 * (lx * lx + ly * ly)))
    order = np.argsort(params["radii"])[::-1]  # big fruit behind small ones
    for i in order:
        (cx, cy), r = params["centers"][i], params["radii"][i]
        # soft shadow on the ground, then the shaded sphere with a specular highlight
        shadow = ((xx - cx - 0.06) ** 2 + ((yy - cy - 0.08) * 1.6) ** 2) < (r * 1.05) ** 2
        img = np.where(shadow[..., None], img * 0.65, img)
        dx, dy = (xx - cx) / r, (yy - cy) / r
        d2 = dx * dx + dy * dy
        inside = d2 < 1.0
        nz = np.sqrt(np.clip(1.0 - d2, 0, 1))
        lambert = np.clip(dx * lx + dy * ly + nz * lz, 0, 1)
        spec = np.clip(dx * lx + dy * ly + nz * lz, 0, 1) ** 24 * 0.55
        shaded = fruit * (0.35 + 0.65 * lambert[..., None]) + spec[..., None]
        img = np.where(inside[..., None], shaded, img)
        a = params["leaf_angle"][i]
        lcx, lcy = cx + 0.55 * r * np.sin(a), cy - 1.0 * r * np.cos(a)
        ex, ey = (xx - lcx) / (0.45 * r), (yy - lcy) / (0.22 * r)
        img = np.where(((ex * ex + ey * ey) < 1.0)[..., None], leaf * params["tone"], img)
    img = np.clip(img, 0, 1)
    img = img.reshape(size, supersample, size, supersample, 3).mean(axis=(1, 3))
    return (img * 255 + 0.5).astype(np.uint8)


class DemoUnpaired(Dataset):
    """`n` scenes per domain at `load_size`, random-cropped to `image_size` and flipped."""

    def __init__(self, cfg: Any, n: int = 200, train: bool = True) -> None:
        self.train = train
        size = cfg.load_size if train else cfg.image_size
        offset = 0 if train else TEST_SCENE_OFFSET
        ids_a = range(offset, offset + n)
        ids_b = range(offset + n, offset + 2 * n) if train else ids_a  # disjoint for training
        self.images_a = [render(scene(i), "A", size) for i in ids_a]
        self.images_b = [render(scene(i), "B", size) for i in ids_b]
        self.pipeline = T.train_pipeline(0, cfg.image_size, cfg.flip) if train else None

    def __len__(self) -> int:
        return len(self.images_a)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        if not self.train:
            return {"A": T.to_tensor(self.images_a[index]), "B": T.to_tensor(self.images_b[index])}
        b_index = int(np.random.default_rng(seed).integers(len(self.images_b)))
        return {
            "A": T.to_tensor(T.run(self.pipeline, self.images_a[index], seed)),
            "B": T.to_tensor(T.run(self.pipeline, self.images_b[b_index], seed + 1)),
        }


def ground_truth_pairs(cfg: Any, n: int = HELD_OUT_SCENES) -> dict[str, Tensor]:
    """Held-out scenes in both styles: {"A": [n,3,H,W], "B": [n,3,H,W]} in [-1, 1]."""
    test = DemoUnpaired(cfg, n=n, train=False)
    items = [test[i] for i in range(n)]
    return {k: torch.stack([it[k] for it in items]) for k in ("A", "B")}


def demo_bundle(cfg: Any, **options: Any) -> DataBundle:
    """The "unpaired" kind's demo: `demo_size` scenes per domain, held-out pairs as ground truth."""
    if options.get("data_b") is not None:
        raise ConfigError("--data-b is for two-folder variants (cogan)")
    return DataBundle(
        train=DemoUnpaired(cfg, n=options.get("demo_size", 200)),
        preview=DemoUnpaired(cfg, n=8, train=False),
        source="demo",
        ground_truth=ground_truth_pairs(cfg),
        in_memory=True,
    )


# --- the paired demo: label maps → rendered scenes (pix2pix) ---------------------------------
LABELS = {"ground": (0.05, 0.10, 0.75), "shadow": (0.05, 0.55, 0.95), "fruit": (0.95, 0.10, 0.10),
          "leaf": (0.95, 0.90, 0.10)}  # one flat colour per class, as in a segmentation map


def render_labels(params: dict[str, Any], size: int, supersample: int = 2) -> np.ndarray:
    """HxWx3 uint8 label map of `params`: ground, shadow, fruit and leaf, flat colours; the
    scene's shading, highlights, tone and background gradient are what a translator must add."""
    s = size * supersample
    yy, xx = np.meshgrid((np.arange(s) + 0.5) / s, (np.arange(s) + 0.5) / s, indexing="ij")
    img = np.broadcast_to(np.array(LABELS["ground"]), (s, s, 3)).copy()
    for i in np.argsort(params["radii"])[::-1]:
        (cx, cy), r = params["centers"][i], params["radii"][i]
        shadow = ((xx - cx - 0.06) ** 2 + ((yy - cy - 0.08) * 1.6) ** 2) < (r * 1.05) ** 2
        img[shadow] = LABELS["shadow"]
        img[((xx - cx) / r) ** 2 + ((yy - cy) / r) ** 2 < 1.0] = LABELS["fruit"]
        a = params["leaf_angle"][i]
        lcx, lcy = cx + 0.55 * r * np.sin(a), cy - 1.0 * r * np.cos(a)
        img[((xx - lcx) / (0.45 * r)) ** 2 + ((yy - lcy) / (0.22 * r)) ** 2 < 1.0] = LABELS["leaf"]
    img = img.reshape(size, supersample, size, supersample, 3).mean(axis=(1, 3))
    return (img * 255 + 0.5).astype(np.uint8)


class DemoPaired(Dataset):
    """`n` scenes as (A = label map, B = the scene rendered in style A) at `load_size`; A and B
    get one random crop to `image_size` and one flip."""

    def __init__(self, cfg: Any, n: int = 200, train: bool = True) -> None:
        self.train = train
        size = cfg.load_size if train else cfg.image_size
        offset = 0 if train else TEST_SCENE_OFFSET
        scenes = [scene(i) for i in range(offset, offset + n)]
        self.images_a = [render_labels(p, size) for p in scenes]
        self.images_b = [render(p, "A", size) for p in scenes]
        self.pipeline = T.train_pipeline(0, cfg.image_size, cfg.flip, paired=True) if train else None

    def __len__(self) -> int:
        return len(self.images_a)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        a, b = self.images_a[index], self.images_b[index]
        if self.train:
            a, b = T.run_pair(self.pipeline, a, b, seed)
        return {"A": T.to_tensor(a), "B": T.to_tensor(b)}


def paired_bundle(cfg: Any, **options: Any) -> DataBundle:
    """The "paired" kind's demo: `demo_size` label-map/scene pairs, held-out pairs as ground truth."""
    if options.get("data_b") is not None:
        raise ConfigError("--data-b is for two-folder variants (cogan)")
    n_truth = options.get("eval_size", 24)
    test = DemoPaired(cfg, n=n_truth, train=False)
    items = [test[i] for i in range(n_truth)]
    return DataBundle(
        train=DemoPaired(cfg, n=options.get("demo_size", 200)),
        preview=DemoPaired(cfg, n=8, train=False),
        source="demo",
        ground_truth={k: torch.stack([it[k] for it in items]) for k in ("A", "B")},
        in_memory=True,
    )
