"""PSNR-Y / SSIM-Y as the SR literature computes them, checked against hand computation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from translate.metrics.image import psnr, psnr_y, rgb_to_y, ssim_y, to_levels


def _t(arr: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 → [1, 3, H, W] float in 0..255."""
    return torch.from_numpy(arr).permute(2, 0, 1)[None].float()


def test_bt601_luma_of_pure_colours():
    colours = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    y = rgb_to_y(_t(colours))[0, 0, 0].tolist()
    assert y == pytest.approx([16.0, 235.0, 16 + 65.481, 16 + 128.553, 16 + 24.966], abs=1e-4)


def test_levels_round_like_saved_images():
    x = torch.tensor([-1.0, 0.0, 1.0, 1.5, -0.9961])  # [-1, 1] → 0..255, clamped, rounded
    assert to_levels(x).tolist() == [0.0, 128.0, 255.0, 255.0, 0.0]  # 127.5 rounds to even 128


def test_psnr_y_by_hand_with_border_crop():
    target = np.zeros((6, 6, 3), np.uint8)
    pred = target.copy()
    pred[0, :, :] = 255  # differences in the border only: cropped away
    pred[2, 3, 0] = 1  # one red level inside the 4×4 centre: ΔY = 65.481 / 255
    dy = 65.481 / 255
    expected = 10 * math.log10(255**2 / (dy**2 / 16))
    got = psnr_y(_t(pred), _t(target), (0.0, 255.0), crop=1)
    assert got.shape == (1,) and got.item() == pytest.approx(expected, abs=1e-3)
    # black vs white everywhere: Y 16 vs 235, PSNR = 20·log10(255 / 219)
    white = np.full((6, 6, 3), 255, np.uint8)
    assert psnr_y(_t(white), _t(target), (0.0, 255.0)).item() == pytest.approx(20 * math.log10(255 / 219), abs=1e-4)


def test_psnr_y_takes_any_value_range_and_rounds_first():
    target = torch.zeros(2, 3, 8, 8)
    pred = target + 0.3 / 255  # in [0, 1]: 0.3 of a level rounds away to 0 → identical images
    assert (psnr_y(pred, target, (0.0, 1.0)) > 140).all()
    pred = target + 1.0 / 255
    expected = 10 * math.log10(255**2 / (219 / 255) ** 2)  # every pixel +1 level in R, G and B → ΔY = 219/255
    assert psnr_y(pred, target, (0.0, 1.0)).tolist() == pytest.approx([expected] * 2, abs=1e-3)
    assert psnr_y(pred * 2 - 1, target * 2 - 1, (-1.0, 1.0)).tolist() == pytest.approx([expected] * 2, abs=1e-3)


def _ssim_by_hand(a: np.ndarray, b: np.ndarray) -> float:
    """Wang et al. 2004 with an explicit 11×11 Gaussian (σ 1.5), valid windows only, L = 255."""
    ax = np.arange(11) - 5
    g = np.exp(-(ax**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            pa, pb = a[i : i + 11, j : j + 11], b[i : i + 11, j : j + 11]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va, vb = (w * pa * pa).sum() - ma**2, (w * pb * pb).sum() - mb**2
            cov = (w * pa * pb).sum() - ma * mb
            values.append(((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return float(np.mean(values))


def test_ssim_y_matches_hand_computation():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (17, 19, 3), dtype=np.uint8)
    noisy = np.clip(hr.astype(int) + rng.integers(-40, 41, hr.shape), 0, 255).astype(np.uint8)

    def luma(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64) / 255
        return 16 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]

    expected = _ssim_by_hand(luma(noisy)[2:-2, 2:-2], luma(hr)[2:-2, 2:-2])
    got = ssim_y(_t(noisy), _t(hr), (0.0, 255.0), crop=2)
    assert got.item() == pytest.approx(expected, abs=1e-5)
    assert 0.9 < expected < 0.99  # noisy, but far from identical
    assert ssim_y(_t(hr), _t(hr), (0.0, 255.0)).item() == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="11"):
        ssim_y(_t(hr), _t(hr), (0.0, 255.0), crop=4)


def test_psnr_unchanged_for_cyclegan():
    a, b = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5)  # [-1, 1]: 0.25 apart in [0, 1]
    assert psnr(a, b).item() == pytest.approx(10 * math.log10(1 / 0.0625), abs=1e-4)
