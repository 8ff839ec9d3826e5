"""Augmentation pipelines (albumentations on uint8 HxWxC arrays → float tensors in [-1, 1])."""
from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import torch
from torch import Tensor


def train_pipeline(load_size: int, crop_size: int, flip: bool = True, paired: bool = False) -> A.Compose:
    """CycleGAN recipe: resize to load_size (bicubic) → random crop → horizontal flip.
    `paired`: the pipeline also takes `image_b`, which gets exactly the same resize, crop and flip."""
    steps: list = []
    if load_size > 0:
        steps.append(A.Resize(load_size, load_size, interpolation=cv2.INTER_CUBIC))
    steps.append(A.RandomCrop(crop_size, crop_size))
    if flip:
        steps.append(A.HorizontalFlip(p=0.5))
    return A.Compose(steps, additional_targets={"image_b": "image"} if paired else None)


def eval_pipeline(size: int, paired: bool = False) -> A.Compose:
    """Deterministic: resize to `size` (bicubic), for sample grids."""
    return A.Compose([A.Resize(size, size, interpolation=cv2.INTER_CUBIC)],
                     additional_targets={"image_b": "image"} if paired else None)


def run(pipeline: A.Compose, image: np.ndarray, seed: int) -> np.ndarray:
    """Apply `pipeline` with randomness fixed by `seed` (any worker, any resume: same result)."""
    pipeline.set_random_seed(seed)
    return pipeline(image=image)["image"]


def run_pair(pipeline: A.Compose, a: np.ndarray, b: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A paired pipeline on (a, b): one draw of its randomness for both (same crop, same flip)."""
    pipeline.set_random_seed(seed)
    out = pipeline(image=a, image_b=b)
    return out["image"], out["image_b"]


def to_tensor(image: np.ndarray) -> Tensor:
    """HxWxC uint8 → CxHxW float32 in [-1, 1]."""
    if image.ndim == 2:
        image = image[..., None]
    t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float()
    return t.div_(127.5).sub_(1.0)
