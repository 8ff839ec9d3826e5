"""Unpaired two-domain data (CycleGAN, DiscoGAN): trainA/ trainB/ (testA/ testB/), or A/ B/.

Length is max(|A|, |B|); item i takes A[i mod |A|] and a B drawn at random (from the
item's own seed, so the draw is reproducible and independent of worker count).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from translate.data import transforms as T
from translate.data.bundle import DataBundle
from translate.data.images import list_images, load_image
from translate.errors import DataError

LAYOUT = "expected trainA/ and trainB/ (optionally testA/ testB/), or A/ and B/, each holding images"


def find_domain_dirs(root: Path, split: str = "train") -> tuple[Path, Path] | None:
    for a, b in ((f"{split}A", f"{split}B"), ("A", "B")):
        if (root / a).is_dir() and (root / b).is_dir():
            return root / a, root / b
    return None


def _images_in(folder: Path) -> list[Path]:
    files = list_images(folder)
    if not files:
        raise DataError(f"no images found in {folder}; {LAYOUT}")
    return files


class UnpairedFolders(Dataset):
    """Two folders of images, drawn independently."""

    def __init__(self, dir_a: Path, dir_b: Path, cfg: Any, train: bool = True) -> None:
        self.files_a, self.files_b = _images_in(dir_a), _images_in(dir_b)
        self.channels = cfg.channels
        if train:
            self.pipeline = T.train_pipeline(cfg.load_size, cfg.image_size, cfg.flip)
        else:
            self.pipeline = T.eval_pipeline(cfg.image_size)

    def __len__(self) -> int:
        return max(len(self.files_a), len(self.files_b))

    def _load(self, path: Path, seed: int) -> torch.Tensor:
        img = load_image(path, self.channels)
        return T.to_tensor(T.run(self.pipeline, img, seed))

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        rng = np.random.default_rng(seed)
        b_index = int(rng.integers(len(self.files_b)))
        return {
            "A": self._load(self.files_a[index % len(self.files_a)], seed),
            "B": self._load(self.files_b[b_index], seed + 1),
        }


def open_unpaired(path: str | Path, cfg: Any) -> tuple[Dataset, Dataset]:
    """(train set, preview set): the preview set is test*/ when present, else train*/."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}; {LAYOUT}")
    train = find_domain_dirs(root, "train")
    if train is None:
        raise DataError(f"{root} has no domain folders; {LAYOUT}")
    test = find_domain_dirs(root, "test") or train
    return UnpairedFolders(*train, cfg, train=True), UnpairedFolders(*test, cfg, train=False)


def open_folders(root: Path, cfg: Any, **options: Any) -> DataBundle:
    """The "unpaired" kind on a folder: trainA/ trainB/ (previews from testA/ testB/)."""
    if options.get("data_b") is not None:
        raise DataError(f"--data-b is for two-folder variants (cogan); give one --data folder with {LAYOUT}")
    train, preview = open_unpaired(root, cfg)
    return DataBundle(train=train, preview=preview, source=str(root))
