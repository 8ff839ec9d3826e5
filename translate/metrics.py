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
