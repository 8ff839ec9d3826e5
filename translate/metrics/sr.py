"""`translate eval`: a super-resolution model against bicubic upscaling, per image set.

The SR literature's protocol: each HR image is cropped to a multiple of the scale, its LR
version made by the same antialiased bicubic downscaling as training (or read from `lr/`),
upscaled by the model and by bicubic, and both scored with PSNR-Y / SSIM-Y (BT.601 luma,
uint8-rounded RGB, `scale` pixels cropped at every border; see translate.metrics.image).

Image sets: a folder with `hr/` (and optionally `lr/`) is one set; a folder whose images
all sit in subfolders (benchmark/Set5, benchmark/Set14, ...) gives one set per subfolder;
any other folder is one set of all its images.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from translate.data.images import list_images, load_image
from translate.data.sr import downscale, find_sr_images, modcrop, upscale
from translate.errors import ConfigError, DataError
from translate.files import atomic_write
from translate.metrics.image import psnr_y, ssim_y


@dataclass
class ImageSet:
    name: str
    hr: list[Path]
    lr: list[Path] | None = None


@dataclass
class SetScores:
    """Mean scores of one image set (per-image values in `images`)."""

    name: str
    count: int
    psnr_y: float
    psnr_y_bicubic: float
    ssim_y: float
    ssim_y_bicubic: float
    images: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gain(self) -> float:
        return self.psnr_y - self.psnr_y_bicubic


def find_image_sets(folder: str | Path, scale: int) -> list[ImageSet]:
    """The image sets under `folder` (see the module docstring)."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"evaluation folder not found: {root}")
    if (root / "hr").is_dir():
        hr, lr = find_sr_images(root, scale)
        return [ImageSet(root.name, hr, lr)]
    top_level = [p for p in list_images(root) if p.parent == root]
    subsets = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".") and list_images(d))
    if not top_level and subsets:
        return [s for d in subsets for s in find_image_sets(d, scale)]
    hr, lr = find_sr_images(root, scale)
    return [ImageSet(root.name, hr, lr)]


def _as_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWxC uint8 → [1, C, H, W] float in 0..255 (the metrics' value_range (0, 255))."""
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float()  # a writable copy


def score_pair(sr: np.ndarray, hr: np.ndarray, crop: int) -> tuple[float, float]:
    """(PSNR-Y, SSIM-Y) of one uint8 image against its uint8 ground truth."""
    a, b = _as_tensor(sr), _as_tensor(hr)
    levels = (0.0, 255.0)
    return float(psnr_y(a, b, levels, crop)[0]), float(ssim_y(a, b, levels, crop)[0])


def evaluate_set(translator: Any, image_set: ImageSet, crop: int | None = None) -> SetScores:
    """Upscale every image of `image_set` with `translator` and with bicubic; score both."""
    k = translator.scale
    crop = k if crop is None else crop
    rows = []
    for i, path in enumerate(image_set.hr):
        hr = modcrop(load_image(path, translator.in_channels), k)
        if image_set.lr is not None:
            lr = load_image(image_set.lr[i], translator.in_channels)
            if (lr.shape[0] * k, lr.shape[1] * k) != hr.shape[:2]:
                raise DataError(f"{image_set.lr[i]}: LR {lr.shape[1]}×{lr.shape[0]} is not 1/{k} of its HR {path}")
        else:
            lr = downscale(hr, k)
        if min(hr.shape[:2]) - 2 * crop < 11:
            raise DataError(f"{path} is too small to score ({hr.shape[1]}×{hr.shape[0]}); SSIM needs 11 px after the border crop")
        sr = translator.translate_batch([lr], tile=max(lr.shape[:2]))[0]  # whole image, no tiles
        p, s = score_pair(sr, hr, crop)
        pb, sb = score_pair(upscale(lr, k), hr, crop)
        rows.append({"file": str(path), "psnr_y": p, "ssim_y": s, "psnr_y_bicubic": pb, "ssim_y_bicubic": sb})
    mean = {key: float(np.mean([r[key] for r in rows])) for key in ("psnr_y", "psnr_y_bicubic", "ssim_y", "ssim_y_bicubic")}
    return SetScores(image_set.name, len(rows), images=rows, **mean)


def evaluate_sr(
    model: str | Path,
    data: list[str | Path],
    direction: str | None = None,
    backend: str = "auto",
    device: str = "auto",
    crop: int | None = None,
    plugins: list[str] = (),  # type: ignore[assignment]
) -> tuple[list[SetScores], dict[str, Any]]:
    """Scores per image set, and the JSON-ready report (model, scale, crop, sets)."""
    from translate.inference.loading import open_model

    translator = open_model(model, backend=backend, device=device, plugins=list(plugins)).pick(direction)
    if translator.kind != "image" or translator.scale < 2:
        raise ConfigError(f"{model} is not a super-resolution model (scale {translator.scale}); `translate eval` scores SR models")
    sets = [s for folder in data for s in find_image_sets(folder, translator.scale)]
    results = [evaluate_set(translator, s, crop) for s in sets]
    report = {
        "model": str(model), "translator": translator.name, "scale": translator.scale,
        "crop": translator.scale if crop is None else crop, "metric": "PSNR-Y / SSIM-Y (BT.601, uint8)",
        "sets": [{**asdict(r), "psnr_y_gain": r.gain} for r in results],
    }
    return results, report


def default_report_path(model: str | Path) -> Path:
    """RUN/eval.json for a run directory, else eval.json next to the weights file (for a catalog
    name or an hf:// address: NAME.eval.json here)."""
    if str(model).startswith("hf://"):
        return Path(str(model).rstrip("/").rsplit("/", 1)[-1].split("@")[0] + ".eval.json")
    p = Path(model)
    return p / "eval.json" if p.is_dir() else p.with_name(p.stem + ".eval.json")


def write_report(report: dict[str, Any], path: str | Path) -> Path:
    return atomic_write(path, json.dumps(report, indent=2))
