"""Super-resolution data: HR crops with their LR versions.

Two layouts: any folder of HR photos (recursive; LR made on the fly by antialiased bicubic
downsampling), or a folder with `hr/` and `lr/` holding pairs of the same name (an LR file
may carry DIV2K's `x4` suffix). Items are {"lr": [C, s/k, s/k], "hr": [C, s, s]} for HR
crop size s and scale k, both in [-1, 1] like every image of every data kind (a variant whose
net takes LR in [0, 1], SRGAN's, converts).

`downscale` and `upscale` are the one bicubic implementation used everywhere (training
data, the demo, the bicubic baseline of `translate eval`): Pillow's BICUBIC, which widens
its kernel by the factor when shrinking (antialiased, like MATLAB's imresize).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from translate.data import transforms as T
from translate.data.bundle import DataBundle
from translate.data.images import list_images, load_image
from translate.errors import ConfigError, DataError

LAYOUT = "expected a folder of HR images, or hr/ and lr/ folders of same-named pairs"
PREVIEW_ITEMS = 8


def resize_bicubic(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """HxWxC uint8 → height×width×C uint8 with Pillow's (antialiased) bicubic filter."""
    channels = image.shape[2]
    pil = Image.fromarray(image[..., 0] if channels == 1 else image)
    out = np.array(pil.resize((width, height), Image.Resampling.BICUBIC))
    return out[..., None] if out.ndim == 2 else out


def downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """The LR version of an HR image (its size a multiple of `scale`)."""
    h, w = hr.shape[:2]
    return resize_bicubic(hr, w // scale, h // scale)


def upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic upscaling: the baseline every SR model is compared with."""
    h, w = lr.shape[:2]
    return resize_bicubic(lr, w * scale, h * scale)


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right edge so both sides are multiples of `scale`."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


class SRCrops(Dataset):
    """HR crops of `size` (random when `train`, central otherwise) and their LR versions.

    `hr` holds image files or uint8 arrays; `lr`, if given, the matching LR images (then the
    crops are aligned on the LR grid instead of downscaling). With `length` larger than the
    number of images, item i uses image i mod n: an epoch is `length` crops.
    """

    def __init__(
        self,
        hr: Sequence[Path | np.ndarray],
        cfg: Any,
        lr: Sequence[Path | np.ndarray] | None = None,
        length: int = 0,
        train: bool = True,
    ) -> None:
        self.hr, self.lr, self.train = list(hr), (list(lr) if lr is not None else None), train
        self.scale, self.size, self.channels = int(cfg.scale), int(cfg.image_size), int(cfg.channels)
        self.flip = bool(cfg.flip) and train
        self.length = max(length, 0) or len(self.hr)
        if self.size % self.scale:
            raise ConfigError(f"image_size {self.size} (the HR crop) must be a multiple of scale {self.scale}")

    def __len__(self) -> int:
        return self.length

    def _image(self, source: Path | np.ndarray) -> np.ndarray:
        return load_image(source, self.channels) if isinstance(source, Path) else source

    def _name(self, i: int) -> str:
        src = self.hr[i]
        return str(src) if isinstance(src, Path) else f"image {i}"

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        i = index % len(self.hr)
        rng = np.random.default_rng(seed)
        hr = self._image(self.hr[i])
        k, s = self.scale, self.size
        if self.lr is not None:
            lr_full = self._image(self.lr[i])
            hr = modcrop(hr, k)
            if (lr_full.shape[0] * k, lr_full.shape[1] * k) != hr.shape[:2]:
                raise DataError(
                    f"{self._name(i)}: HR {hr.shape[1]}×{hr.shape[0]} is not {k}× its LR "
                    f"{lr_full.shape[1]}×{lr_full.shape[0]}; check scale or the lr/ folder"
                )
        if hr.shape[0] < s or hr.shape[1] < s:
            raise DataError(
                f"{self._name(i)} is {hr.shape[1]}×{hr.shape[0]}, smaller than the {s}-px HR crop; "
                "lower image_size or remove the image"
            )
        # the crop's corner on the LR grid (so paired LR crops stay aligned), scaled to HR
        rows, cols = (hr.shape[0] - s) // k, (hr.shape[1] - s) // k
        y, x = (int(rng.integers(rows + 1)), int(rng.integers(cols + 1))) if self.train else (rows // 2, cols // 2)
        hr_crop = hr[y * k : y * k + s, x * k : x * k + s]
        if self.lr is not None:
            lr_crop = lr_full[y : y + s // k, x : x + s // k]
        else:
            lr_crop = downscale(hr_crop, k)
        if self.flip and rng.random() < 0.5:
            hr_crop, lr_crop = hr_crop[:, ::-1], lr_crop[:, ::-1]
        return {"lr": T.to_tensor(np.array(lr_crop)), "hr": T.to_tensor(np.array(hr_crop))}


def _pair_files(hr_dir: Path, lr_dir: Path, scale: int) -> tuple[list[Path], list[Path]]:
    """Match lr/ to hr/ by relative path without extension (an LR `x{scale}` suffix allowed)."""
    def key(p: Path, root: Path, strip: str = "") -> str:
        rel = p.relative_to(root).with_suffix("")
        name = rel.name[: -len(strip)] if strip and rel.name.endswith(strip) else rel.name
        return str(rel.with_name(name))

    hr_files = list_images(hr_dir)
    lr_by_key = {key(p, lr_dir, f"x{scale}"): p for p in list_images(lr_dir)}
    lr_files = []
    for p in hr_files:
        match = lr_by_key.get(key(p, hr_dir))
        if match is None:
            raise DataError(f"no LR image in {lr_dir} for {p}; name pairs alike (e.g. hr/0001.png, lr/0001.png)")
        lr_files.append(match)
    return hr_files, lr_files


def find_sr_images(root: Path, scale: int) -> tuple[list[Path], list[Path] | None]:
    """(HR files, matching LR files or None) of a folder in either layout."""
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}; {LAYOUT}")
    if (root / "hr").is_dir():
        if (root / "lr").is_dir():
            hr_files, lr_files = _pair_files(root / "hr", root / "lr", scale)
        else:
            hr_files, lr_files = list_images(root / "hr"), None
    else:
        hr_files, lr_files = list_images(root), None
    if not hr_files:
        raise DataError(f"no images found in {root}; {LAYOUT}")
    return hr_files, lr_files


def open_sr(root: Path, cfg: Any, **options: Any) -> DataBundle:
    """The "sr" dataset kind on a folder of HR photos (or hr/ + lr/ pairs)."""
    hr_files, lr_files = find_sr_images(root, int(cfg.scale))
    n = min(PREVIEW_ITEMS, len(hr_files))
    preview_lr = lr_files[:n] if lr_files is not None else None
    return DataBundle(
        train=SRCrops(hr_files, cfg, lr_files, length=int(getattr(cfg, "epoch_size", 0))),
        preview=SRCrops(hr_files[:n], cfg, preview_lr, train=False),
        source=str(root),
        info={"images": len(hr_files), "paired": lr_files is not None},
    )
