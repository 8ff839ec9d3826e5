"""Paired ("aligned") data, pix2pix's: each A has its own B, the same scene in the other domain.

Two layouts: the reference's — `train/` (and `val/`, `test/`) of files that hold A and B side
by side (A the left half, B the right) — or `A/` and `B/` folders of files with the same names
(optionally under `train/`). Items are {"A", "B"} in [-1, 1]; both halves get one resize to
`load_size`, one random crop to `image_size` and one flip, drawn from the item's own seed.
Which of the two is the input is the variant's business (pix2pix's `direction`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor
from torch.utils.data import Dataset

from translate.data import transforms as T
from translate.data.bundle import DataBundle
from translate.data.images import list_images, load_image
from translate.errors import DataError

LAYOUT = ("expected train/ (optionally val/ or test/) of A|B side-by-side images, "
          "or A/ and B/ folders of images with matching names")
PREVIEW_ITEMS = 8
Pair = tuple[Path, Path | None]  # (A|B file, None) or (A file, B file)


def split_pair(image: np.ndarray, source: str = "") -> tuple[np.ndarray, np.ndarray]:
    """An A|B image → (A, B): the left and the right half."""
    w = image.shape[1]
    if w < 2:
        raise DataError(f"{source or 'an image'} is {w} px wide: too narrow to hold A|B side by side")
    half = w // 2
    return image[:, :half], image[:, half : 2 * half]


def _matched(dir_a: Path, dir_b: Path) -> list[Pair]:
    """(A, B) files of the same relative name (extension aside)."""
    def key(p: Path, root: Path) -> str:
        return str(p.relative_to(root).with_suffix(""))

    b_by_key = {key(p, dir_b): p for p in list_images(dir_b)}
    pairs: list[Pair] = []
    for a in list_images(dir_a):
        b = b_by_key.get(key(a, dir_a))
        if b is None:
            raise DataError(f"no B image in {dir_b} for {a}; name pairs alike (A/0001.png, B/0001.png)")
        pairs.append((a, b))
    return pairs


def find_pairs(root: Path, splits: tuple[str, ...]) -> list[Pair] | None:
    """The pairs of the first split present (A/ B/ inside it or at `root`), else None."""
    for split in splits:
        base = root / split if split else root
        if (base / "A").is_dir() and (base / "B").is_dir():
            return _matched(base / "A", base / "B")
        if split and base.is_dir():
            files = list_images(base)
            if files:
                return [(f, None) for f in files]
    return None


class PairedFiles(Dataset):
    """Aligned (A, B) images: one crop and one flip for both halves."""

    def __init__(self, pairs: list[Pair], cfg: Any, train: bool = True) -> None:
        self.pairs, self.channels = pairs, int(cfg.channels)
        if train:
            self.pipeline = T.train_pipeline(cfg.load_size, cfg.image_size, cfg.flip, paired=True)
        else:
            self.pipeline = T.eval_pipeline(cfg.image_size, paired=True)

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        first, second = self.pairs[index]
        if second is None:
            return split_pair(load_image(first, self.channels), str(first))
        return load_image(first, self.channels), load_image(second, self.channels)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        a, b = self.load(index)
        if a.shape != b.shape:
            raise DataError(f"{self.pairs[index][0]}: A is {a.shape[1]}×{a.shape[0]} but its B is "
                            f"{b.shape[1]}×{b.shape[0]}; aligned pairs must have one size")
        a, b = T.run_pair(self.pipeline, a, b, seed)
        return {"A": T.to_tensor(a), "B": T.to_tensor(b)}


def open_paired(root: Path, cfg: Any, **options: Any) -> DataBundle:
    """The "paired" kind on a folder: train/ (previews from val/ or test/, else train/)."""
    if options.get("data_b") is not None:
        raise DataError(f"--data-b is for two-folder variants (cogan); give one --data folder with {LAYOUT}")
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}; {LAYOUT}")
    train = find_pairs(root, ("train", ""))
    if not train:
        raise DataError(f"{root} has no paired images; {LAYOUT}")
    preview = find_pairs(root, ("val", "test")) or train
    return DataBundle(train=PairedFiles(train, cfg), preview=PairedFiles(preview[:PREVIEW_ITEMS], cfg, train=False),
                      source=str(root), info={"pairs": len(train)})
