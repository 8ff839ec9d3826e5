"""Image quality metrics."""
from __future__ import annotations

import torch
from torch import Tensor


def psnr(pred: Tensor, target: Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> Tensor:
    """Mean over the batch of per-image PSNR in dB, images rescaled to [0, 1] and clamped."""
    lo, hi = value_range
    p = ((pred.float() - lo) / (hi - lo)).clamp(0, 1)
    t = ((target.float() - lo) / (hi - lo)).clamp(0, 1)
    mse = (p - t).pow(2).flatten(1).mean(dim=1).clamp_min(1e-10)
    return (10 * torch.log10(1.0 / mse)).mean()


def as_saved(images: Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> Tensor:
    """Images as a translator writes them (clamped, rounded half up to the uint8 grid), back in
    `value_range`: training's end scores what `translate eval` scores, to the last digit."""
    lo, hi = value_range
    levels = torch.floor(((images.float() - lo) * (255.0 / (hi - lo)) + 0.5).clamp(0, 255))
    return levels * ((hi - lo) / 255.0) + lo


def ssim(pred: Tensor, target: Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> Tensor:
    """Per-image SSIM ([N]) of Wang et al. 2004 on all channels (11×11 Gaussian, σ 1.5; 'same' padding),
    images rescaled to [0, 1] and clamped."""
    import kornia

    lo, hi = value_range
    p = ((pred.float() - lo) / (hi - lo)).clamp(0, 1)
    t = ((target.float() - lo) / (hi - lo)).clamp(0, 1)
    return kornia.metrics.ssim(p, t, 11, max_val=1.0).flatten(1).mean(dim=1)


# --- the super-resolution literature's convention ----------------------------------------
# PSNR and SSIM on the luma channel Y of YCbCr (ITU-R BT.601, studio range 16..235), of the
# images as they would be saved (RGB rounded to uint8), with `crop` pixels (the scale factor)
# removed at every border. Y itself is kept unrounded (BasicSR's `test_y_channel`; MATLAB's
# rgb2ycbcr would round it too, a difference of about 0.01 dB).


def to_levels(images: Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> Tensor:
    """Images → float32 values on the uint8 grid 0..255 (clamped and rounded, as when saved)."""
    lo, hi = value_range
    return ((images.float() - lo) / (hi - lo)).clamp(0, 1).mul(255).round()


def rgb_to_y(levels: Tensor) -> Tensor:
    """[N, 3, H, W] RGB in 0..255 → [N, 1, H, W] BT.601 luma in 16..235
    (Y = 16 + 65.481·R + 128.553·G + 24.966·B with R, G, B in [0, 1]); 1-channel images pass."""
    if levels.shape[1] == 1:
        return levels
    r, g, b = (levels[:, i : i + 1] / 255.0 for i in range(3))
    return 16.0 + 65.481 * r + 128.553 * g + 24.966 * b


def _y(images: Tensor, value_range: tuple[float, float], crop: int) -> Tensor:
    y = rgb_to_y(to_levels(images, value_range)).double()
    return y[..., crop : y.shape[-2] - crop, crop : y.shape[-1] - crop] if crop > 0 else y


def psnr_y(pred: Tensor, target: Tensor, value_range: tuple[float, float] = (-1.0, 1.0), crop: int = 0) -> Tensor:
    """Per-image PSNR-Y in dB ([N]): 10·log10(255² / MSE) over Y with `crop` border pixels removed."""
    p, t = _y(pred, value_range, crop), _y(target, value_range, crop)
    mse = (p - t).pow(2).flatten(1).mean(dim=1).clamp_min(1e-10)
    return (10 * torch.log10(255.0**2 / mse)).float()


def ssim_y(pred: Tensor, target: Tensor, value_range: tuple[float, float] = (-1.0, 1.0), crop: int = 0) -> Tensor:
    """Per-image SSIM-Y ([N]) of Wang et al. 2004: 11×11 Gaussian window σ 1.5, K1 0.01, K2 0.03,
    L 255, 'valid' filtering (no padding), mean of the map — over Y with `crop` border pixels removed."""
    import kornia

    p, t = _y(pred, value_range, crop), _y(target, value_range, crop)
    if min(p.shape[-2:]) < 11:
        raise ValueError(f"SSIM needs at least 11×11 pixels after the border crop, got {tuple(p.shape[-2:])}")
    ssim_map = kornia.metrics.ssim(p, t, 11, max_val=255.0, eps=0.0, padding="valid")
    return ssim_map.flatten(1).mean(dim=1).float()
