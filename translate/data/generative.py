"""Datasets of the generative variants: one folder ("noise", earlier "single"), class subfolders ("labelled"),
two unpaired domains ("two_folders") — and, with no --data, the built-in glyph demo.

Images are resized so the SHORTER side is `load_size` (area filter when shrinking, bicubic
when enlarging; never squashed), centre-cropped square, randomly cropped to `image_size`
and optionally flipped — each item with its own seed (see data/sampler.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from translate.data.bundle import DataBundle, resolve_path
from translate.data import transforms as T
from translate.data.images import list_images, load_image
from translate.errors import ConfigError, DataError

LABELLED_LAYOUT = "expected one subfolder of images per class, e.g. digits/0/*.png, digits/1/*.png"
TWO_LAYOUT = "give --data A_DIR --data-b B_DIR, or --data with A/ B/ (or trainA/ trainB/) inside"


def pipeline(load_size: int, image_size: int, flip: bool, train: bool = True) -> A.Compose:
    """Shorter side → load_size, centre square, crop image_size (random when training), flip."""
    if load_size < image_size:
        raise ConfigError(f"load_size {load_size} is smaller than image_size {image_size}; set load_size ≥ image_size")
    crop = A.RandomCrop if train else A.CenterCrop
    steps: list = [
        A.SmallestMaxSize(max_size=load_size, interpolation=cv2.INTER_CUBIC, area_for_downscale="image"),
        A.CenterCrop(load_size, load_size),
        crop(image_size, image_size),
    ]
    if flip and train:
        steps.append(A.HorizontalFlip(p=0.5))
    return A.Compose(steps)


class ImageFiles(Dataset):
    """Images (with optional integer labels); items {"image"} or {"image", "label"}."""

    def __init__(self, files: list[Path], cfg: Any, labels: list[int] | None = None, train: bool = True) -> None:
        self.files, self.labels, self.channels = files, labels, cfg.channels
        self.pipeline = pipeline(cfg.load_size, cfg.image_size, cfg.flip, train)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        image = T.to_tensor(T.run(self.pipeline, load_image(self.files[index], self.channels), seed))
        if self.labels is None:
            return {"image": image}
        return {"image": image, "label": torch.tensor(self.labels[index])}


class TwoFolders(Dataset):
    """Two domains drawn independently: item i takes A[i mod |A|] and a B from the item's seed."""

    def __init__(self, files_a: list[Path], files_b: list[Path], cfg: Any, train: bool = True) -> None:
        self.a, self.b = ImageFiles(files_a, cfg, train=train), ImageFiles(files_b, cfg, train=train)
        self.train = train

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        b_index = int(np.random.default_rng(seed).integers(len(self.b))) if self.train else index % len(self.b)
        return {"A": self.a[(index % len(self.a), seed)]["image"], "B": self.b[(b_index, seed + 1)]["image"]}


def _images(folder: Path, layout: str) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"data folder not found: {folder}; {layout}")
    files = list_images(folder)
    if not files:
        raise DataError(f"no images found in {folder}; {layout}")
    return files


def _no_data_b(options: dict[str, Any], kind: str) -> None:
    if options.get("data_b") is not None:
        raise ConfigError(f"--data-b is for two-domain variants (cogan); the '{kind}' data takes one --data folder")


def open_single(root: Path, cfg: Any, **options: Any) -> DataBundle:
    """All images under one folder (recursive)."""
    _no_data_b(options, "noise")
    files = _images(root, "expected a folder of images (searched recursively)")
    preview = torch.utils.data.Subset(ImageFiles(files, cfg, train=False), range(min(16, len(files))))
    return DataBundle(train=ImageFiles(files, cfg), preview=preview, source=str(root))


def find_classes(root: Path) -> tuple[list[str], list[Path], list[int]]:
    """(class names sorted, image files, their class indices) of a class-per-subfolder dataset."""
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}; {LABELLED_LAYOUT}")
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise DataError(f"{root} has no class subfolders; {LABELLED_LAYOUT}")
    files: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(names):
        found = list_images(root / name)
        if not found:
            raise DataError(f"class folder {root / name} has no images; add some or remove the folder")
        files += found
        labels += [index] * len(found)
    return names, files, labels


def open_labelled(root: Path, cfg: Any, **options: Any) -> DataBundle:
    """Class-per-subfolder images (class names = folder names, sorted, into info["class_names"])."""
    _no_data_b(options, "labelled")
    names, files, labels = find_classes(root)
    # preview: the first image of each class in turn
    firsts = [labels.index(c) for c in range(len(names))]
    preview = torch.utils.data.Subset(ImageFiles(files, cfg, labels, train=False), firsts[:16])
    return DataBundle(
        train=ImageFiles(files, cfg, labels), preview=preview, source=str(root), info={"class_names": names}
    )


def open_two_folders(root: Path, cfg: Any, **options: Any) -> DataBundle:
    """Two unpaired domains: --data A --data-b B, or one folder with A/ B/ or trainA/ trainB/ (testA/ testB/
    for previews)."""
    data_b = options.get("data_b")
    from translate.data.unpaired import find_domain_dirs

    if data_b is not None:
        dir_a, dir_b = root, resolve_path(data_b)
        test = None
    else:
        dirs = find_domain_dirs(root, "train") if root.is_dir() else None
        if dirs is None:
            raise DataError(f"{root} has no A/ B/ or trainA/ trainB/ folders; {TWO_LAYOUT}")
        dir_a, dir_b = dirs
        test = find_domain_dirs(root, "test")
    files_a, files_b = _images(dir_a, TWO_LAYOUT), _images(dir_b, TWO_LAYOUT)
    if test is not None:
        preview = TwoFolders(_images(test[0], TWO_LAYOUT), _images(test[1], TWO_LAYOUT), cfg, train=False)
    else:
        preview = TwoFolders(files_a[:16], files_b[:16], cfg, train=False)
    source = f"{dir_a} + {dir_b}" if data_b is not None else str(root)
    return DataBundle(train=TwoFolders(files_a, files_b, cfg), preview=preview, source=source)
