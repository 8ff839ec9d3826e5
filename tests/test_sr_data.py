"""The "sr" data kind: HR crops, LR by antialiased bicubic, paired lr/ hr/ folders, the demo."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import write_images
from PIL import Image

from translate.data import open_data
from translate.data.sr import SRCrops, downscale, modcrop, upscale
from translate.data.demos.sr_photos import render
from translate.errors import ConfigError, DataError


def cfg(**kw) -> SimpleNamespace:
    base = {"scale": 4, "image_size": 16, "channels": 3, "flip": False, "epoch_size": 0}
    return SimpleNamespace(**{**base, **kw})


def _levels(t: torch.Tensor, lo: float) -> np.ndarray:
    """CxHxW tensor in [lo, 1] → HxWxC uint8."""
    x = (t - lo) / (1 - lo) * 255
    return x.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


def test_downscale_is_antialiased_bicubic():
    checker = (np.indices((32, 32)).sum(0) % 2 * 255).astype(np.uint8)[..., None].repeat(3, 2)
    lr = downscale(checker, 4)
    assert lr.shape == (8, 8, 3)
    assert abs(float(lr.mean()) - 127.5) < 2 and lr.std() < 3  # averaged to grey, not aliased
    ramp = np.tile(np.linspace(0, 255, 64).astype(np.uint8)[None, :, None], (64, 1, 3))
    back = upscale(downscale(ramp, 4), 4).astype(int)
    assert np.abs(back - ramp)[:, 4:-4].max() <= 2  # smooth content survives (away from the edges)
    assert modcrop(np.zeros((10, 15, 3)), 4).shape == (8, 12, 3)


def test_folder_items_shapes_ranges_and_lr_generation(tmp_path):
    write_images(tmp_path / "photos" / "sub", 3, size=40)
    bundle = open_data("sr", str(tmp_path / "photos"), cfg(epoch_size=10))
    assert len(bundle.train) == 10 and len(bundle.preview) == 3 and bundle.info["images"] == 3
    item = bundle.train[(5, 123)]
    assert item["lr"].shape == (3, 4, 4) and item["hr"].shape == (3, 16, 16)
    assert -1 <= item["lr"].min() and item["lr"].max() <= 1 and -1 <= item["hr"].min() and item["hr"].max() <= 1
    assert item["lr"].min() < 0  # the contract's [-1, 1], not [0, 1]
    # the LR is exactly the bicubic downscaling of the HR crop
    assert np.array_equal(_levels(item["lr"], -1.0), downscale(_levels(item["hr"], -1.0), 4))
    # the item's seed fixes the crop; other seeds give other crops
    assert torch.equal(bundle.train[(5, 123)]["hr"], item["hr"])
    assert any(not torch.equal(bundle.train[(5, s)]["hr"], item["hr"]) for s in range(5))
    # the preview is the central crop, the same every time
    assert torch.equal(bundle.preview[0]["hr"], bundle.preview[(0, 99)]["hr"])


def test_paired_folders_crop_aligned(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "d" / "hr").mkdir(parents=True)
    (tmp_path / "d" / "lr").mkdir(parents=True)
    for i in range(2):
        lr = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
        hr = lr.repeat(4, 0).repeat(4, 1)  # each LR pixel a 4×4 HR block: alignment is checkable
        hr = np.pad(hr, ((0, 3), (0, 2), (0, 0)))  # not a multiple of 4: modcropped
        Image.fromarray(hr).save(tmp_path / "d" / "hr" / f"{i:04d}.png")
        Image.fromarray(lr).save(tmp_path / "d" / "lr" / f"{i:04d}x4.png")  # DIV2K naming
    bundle = open_data("sr", str(tmp_path / "d"), cfg(image_size=24, flip=True))
    assert bundle.info["paired"] is True
    for seed in range(6):
        item = bundle.train[(seed % 2, seed)]
        lr, hr = _levels(item["lr"], -1.0), _levels(item["hr"], -1.0)
        assert lr.shape == (6, 6, 3) and hr.shape == (24, 24, 3)
        assert np.array_equal(hr, lr.repeat(4, 0).repeat(4, 1))


def test_clear_errors(tmp_path):
    with pytest.raises(DataError, match="missing"):
        open_data("sr", str(tmp_path / "missing"), cfg())
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        open_data("sr", str(tmp_path / "empty"), cfg())
    write_images(tmp_path / "small", 1, size=10)
    with pytest.raises(DataError, match="smaller than the 16-px HR crop"):
        open_data("sr", str(tmp_path / "small"), cfg()).train[0]
    with pytest.raises(ConfigError, match="multiple of scale"):
        open_data("sr", str(tmp_path / "small"), cfg(image_size=18))
    write_images(tmp_path / "p" / "hr", 2, size=40)
    write_images(tmp_path / "p" / "lr", 1, size=10)
    with pytest.raises(DataError, match="no LR image"):
        open_data("sr", str(tmp_path / "p"), cfg())
    write_images(tmp_path / "q" / "hr", 1, size=40)
    write_images(tmp_path / "q" / "lr", 1, size=12)
    with pytest.raises(DataError, match="is not 4×"):
        open_data("sr", str(tmp_path / "q"), cfg()).train[0]


def test_demo_is_procedural_deterministic_and_held_out():
    a, b = render(3, 32), render(3, 32)
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(render(4, 32), a) and a.std() > 10
    bundle = open_data("sr", None, cfg(image_size=16, epoch_size=8), demo_size=3)
    assert bundle.source == "demo" and bundle.in_memory and len(bundle.train) == 8
    assert bundle.train[(0, 1)]["hr"].shape == (3, 16, 16)
    gt = bundle.ground_truth
    assert gt["lr"].shape == (16, 3, 24, 24) and gt["hr"].shape == gt["bicubic"].shape == (16, 3, 96, 96)
    # the bicubic baseline is the same upscaling as everywhere else
    lr0 = _levels(gt["lr"][0], -1.0)
    assert np.array_equal(_levels(gt["bicubic"][0], -1.0), upscale(lr0, 4))


def test_srcrops_accepts_arrays_and_wraps_indices():
    images = [np.full((20, 20, 3), i * 50, np.uint8) for i in range(3)]
    ds = SRCrops(images, cfg(), length=7)
    assert len(ds) == 7
    assert torch.equal(ds[(4, 0)]["hr"], ds[(1, 0)]["hr"])  # item 4 uses image 4 mod 3 = 1
