"""Unpaired folders, image modes, EXIF, clear errors, sampler determinism, the demo data."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import write_images
from PIL import Image

from translate.data import open_data
from translate.data.images import list_images, load_image
from translate.data.sampler import EpochSampler
from translate.errors import DataError

CFG = SimpleNamespace(channels=3, load_size=24, image_size=16, flip=True)


def test_list_images_recursive_any_case(tmp_path):
    write_images(tmp_path / "a" / "deep", 2, ext=".PNG")
    write_images(tmp_path / "a", 1, ext=".jpeg")
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    write_images(tmp_path / "a" / ".hidden", 1)
    assert len(list_images(tmp_path / "a")) == 3


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16"])
def test_modes_become_rgb(tmp_path, mode):
    if mode == "I;16":
        img = Image.fromarray(np.full((5, 6), 40000, dtype=np.uint16))
        path = tmp_path / "x.png"
        img.save(path)
    else:
        path = write_images(tmp_path, 1, mode=mode, ext=".tiff" if mode == "CMYK" else ".png")[0]
    arr = load_image(path)
    assert arr.dtype == np.uint8 and arr.shape[2] == 3
    if mode == "I;16":
        assert arr[0, 0, 0] == round(40000 / 65535 * 255)


def test_rgba_composited_on_white(tmp_path):
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(tmp_path / "t.png")
    assert load_image(tmp_path / "t.png")[0, 0].tolist() == [255, 255, 255]


def test_exif_orientation_applied(tmp_path):
    img = Image.new("RGB", (8, 4), (0, 0, 0))
    img.putpixel((0, 0), (255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    img.save(tmp_path / "r.jpg", exif=exif, quality=100)
    arr = load_image(tmp_path / "r.jpg")
    assert arr.shape[:2] == (8, 4)  # width and height swapped
    assert arr[0, -1].mean() > 200  # top-left pixel moved to the top-right


def test_unpaired_folder_items(unpaired_dir):
    bundle = open_data("unpaired", str(unpaired_dir), CFG)
    assert len(bundle.train) == 5  # max(|A|, |B|)
    item = bundle.train[(3, 42)]
    assert item["A"].shape == item["B"].shape == (3, 16, 16)
    assert item["A"].min() >= -1 and item["A"].max() <= 1
    again = bundle.train[(3, 42)]
    assert torch.equal(item["A"], again["A"]) and torch.equal(item["B"], again["B"])  # seeded augmentation
    assert len(bundle.preview) == 2  # testA/testB used for previews


def test_a_b_layout_and_grayscale_channels(tmp_path):
    write_images(tmp_path / "A", 2)
    write_images(tmp_path / "B", 3)
    cfg = SimpleNamespace(**{**vars(CFG), "channels": 1})
    item = open_data("unpaired", str(tmp_path), cfg).train[0]
    assert item["A"].shape == (1, 16, 16)


def test_clear_errors(tmp_path):
    with pytest.raises(DataError, match="nope.* is neither an existing folder nor a catalog dataset name"):
        open_data("unpaired", str(tmp_path / "nope"), CFG)
    (tmp_path / "trainA").mkdir()
    (tmp_path / "trainB").mkdir()
    with pytest.raises(DataError, match="no images found in .*trainA"):
        open_data("unpaired", str(tmp_path), CFG)
    (tmp_path / "other").mkdir()
    with pytest.raises(DataError, match="has no domain folders"):
        open_data("unpaired", str(tmp_path / "other"), CFG)


def test_sampler_deterministic_resumable_and_sharded():
    s = EpochSampler(10, seed=3)
    s.set_epoch(1)
    full = list(s)
    assert sorted(i for i, _ in full) == list(range(10))
    s.set_epoch(1, start=4)
    assert list(s) == full[4:]
    s.set_epoch(2)
    assert [i for i, _ in s] != [i for i, _ in full]
    shards = []
    for rank in range(3):
        r = EpochSampler(10, seed=3, rank=rank, world_size=3)
        r.set_epoch(1)
        shards.append(list(r))
    assert all(len(x) == 4 for x in shards)  # padded to 12
    assert sorted({i for sh in shards for i, _ in sh}) == list(range(10))


def test_demo_is_unpaired_with_ground_truth():
    from translate.data.demos.apples import DemoUnpaired, ground_truth_pairs

    cfg = SimpleNamespace(channels=3, load_size=36, image_size=32, flip=True)
    train = DemoUnpaired(cfg, n=6)
    # A and B come from disjoint scenes: no training B is the B-rendering of a training A scene
    assert not any(np.array_equal(a, b) for a in train.images_a for b in train.images_b)
    gt = ground_truth_pairs(cfg, n=3)
    assert gt["A"].shape == gt["B"].shape == (3, 3, 32, 32)
    # the same scene in two styles: the fruit mask (where the styles differ most) lines up
    assert (gt["A"] - gt["B"]).abs().mean() > 0.2
