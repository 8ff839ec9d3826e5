"""Data of the generative variants: the glyph demo, one folder, class subfolders, two folders."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from translate.data import open_data
from translate.data.demos.glyphs import CLASS_NAMES, Glyphs, InvertedGlyphPairs, held_out, render
from translate.errors import ConfigError, DataError

from conftest import write_images


def cfg(**kw) -> SimpleNamespace:
    base = {"image_size": 16, "load_size": 16, "channels": 3, "flip": False}
    return SimpleNamespace(**{**base, **kw})


def test_glyphs_are_deterministic_balanced_and_distinct():
    a, label = render(12345, 32)
    b, _ = render(12345, 32)
    assert np.array_equal(a, b) and label == 12345 % 10 and a.shape == (32, 32) and a.dtype == np.uint8
    ds = Glyphs(cfg(image_size=32, channels=1), 40)
    assert sorted(ds.labels.tolist()) == sorted(list(range(10)) * 4)
    item = ds[(3, 99)]
    assert item["image"].shape == (1, 32, 32) and item["label"].item() == 3
    assert -1 <= item["image"].min() and item["image"].max() <= 1
    # glyphs of different classes differ far more than the background jitter
    means = [np.stack([render(c + 10 * k, 32)[0] for k in range(20)]).astype(float).mean(0) for c in range(10)]
    gaps = [np.abs(means[i] - means[j]).mean() for i in range(10) for j in range(i + 1, 10)]
    assert min(gaps) > 5 and len(CLASS_NAMES) == 10
    assert Glyphs(cfg(image_size=8, channels=3), 2)[0]["image"].shape == (3, 8, 8)


def test_cogan_demo_domains_are_inverted_and_unpaired():
    ds = InvertedGlyphPairs(cfg(image_size=28, channels=1), 30)
    # B is the inversion of OTHER samples: no training B is the inversion of a training A
    assert not any(np.array_equal(255 - a, b) for a in ds.a for b in ds.b)
    first_b, _ = render(30, 28)
    assert np.array_equal(ds.b[0], 255 - first_b)
    item = ds[(0, 7)]
    assert item["A"].shape == item["B"].shape == (1, 28, 28)
    assert item["B"].mean() > 0.3 > item["A"].mean()  # inverted: mostly bright
    truth = held_out(cfg(image_size=28, channels=1), 20)
    assert truth["images"].shape == (20, 1, 28, 28) and truth["labels"].tolist() == [i % 10 for i in range(20)]


def test_demo_bundles():
    c = cfg(image_size=16, channels=1, num_classes=0)
    single = open_data("single", None, c, demo_size=20, eval_size=10)
    assert single.source == "demo" and len(single.train) == 20 and single.in_memory
    assert set(single.ground_truth) >= {"images", "labels", "judge", "class_names"}  # what the judge trains on, not a judge
    labelled = open_data("labelled", None, c, demo_size=20, eval_size=10)
    assert labelled.info["class_names"] == CLASS_NAMES and c.num_classes == 0  # the data never edits the config
    from translate.plugins.cgan import CGAN, CGANConfig

    assert CGAN.settle(CGANConfig(), labelled.info).num_classes == 10  # the variant settles it from the info
    two = open_data("two_folders", None, cfg(image_size=28, channels=1), demo_size=10, eval_size=10)
    assert two.ground_truth["mapping"] == "invert" and set(two.train[(0, 1)]) == {"A", "B"}


def test_single_folder_is_recursive_and_keeps_aspect(tmp_path: Path):
    write_images(tmp_path / "faces" / "a", 2, size=20)
    write_images(tmp_path / "faces" / "b" / "c", 1, size=20)
    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, 20:40] = 255  # a bright square in the middle of a wide image
    Image.fromarray(wide).save(tmp_path / "faces" / "wide.png")
    bundle = open_data("single", tmp_path / "faces", cfg(image_size=20, load_size=20))
    assert len(bundle.train) == 4
    item = bundle.train[(3, 5)]["image"]  # wide.png sorts last
    assert item.shape == (3, 20, 20) and item.min() > 0.9  # centre-cropped, not squashed
    with pytest.raises(ConfigError, match="--data-b"):
        open_data("single", tmp_path / "faces", cfg(), data_b="x")
    with pytest.raises(DataError, match="no images"):
        (tmp_path / "empty").mkdir()
        open_data("single", tmp_path / "empty", cfg())
    with pytest.raises(ConfigError, match="load_size"):
        open_data("single", tmp_path / "faces", cfg(image_size=32, load_size=16))


def test_labelled_classes_from_sorted_folder_names(tmp_path: Path):
    root = tmp_path / "digits"
    write_images(root / "7", 3, seed=1, mode="L")
    write_images(root / "10" / "deep", 2, seed=2, mode="L")
    write_images(root / "0", 1, seed=3, mode="L")
    (root / ".hidden").mkdir()
    c = cfg(channels=1, num_classes=0)
    bundle = open_data("labelled", root, c)
    assert bundle.info["class_names"] == ["0", "10", "7"] and c.num_classes == 0
    labels = sorted(bundle.train[(i, i)]["label"].item() for i in range(len(bundle.train)))
    assert labels == [0, 1, 1, 2, 2, 2]
    assert bundle.train[(0, 0)]["image"].shape == (1, 16, 16)  # grayscale stays one channel
    assert [bundle.preview[i]["label"].item() for i in range(len(bundle.preview))] == [0, 1, 2]
    (root / "empty").mkdir()
    with pytest.raises(DataError, match="empty"):
        open_data("labelled", root, cfg(num_classes=0))


def test_two_folders_layouts(tmp_path: Path):
    write_images(tmp_path / "a", 3, seed=1)
    write_images(tmp_path / "b", 2, seed=2)
    c = cfg()
    bundle = open_data("two_folders", tmp_path / "a", c, data_b=str(tmp_path / "b"))
    assert len(bundle.train) == 3 and bundle.train[(0, 1)]["A"].shape == (3, 16, 16)
    # B is drawn from the item's own seed: reproducible, and independent of A's index
    assert torch.equal(bundle.train[(0, 11)]["B"], bundle.train[(2, 11)]["B"])
    for names in (("trainA", "trainB"), ("A", "B")):
        root = tmp_path / "-".join(names)
        write_images(root / names[0], 2, seed=3)
        write_images(root / names[1], 2, seed=4)
        assert len(open_data("two_folders", root, c).train) == 2
    with pytest.raises(DataError, match="--data-b"):
        open_data("two_folders", tmp_path / "a", c)
    with pytest.raises(ConfigError, match="--data"):
        open_data("two_folders", None, c, data_b=str(tmp_path / "b"))
