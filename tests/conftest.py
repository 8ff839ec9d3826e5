"""Shared fixtures: tiny image folders and a CLI runner (CPU only, small and fast)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# One thread: these nets are tiny, and with more threads a busy machine's cores make
# OpenMP spin-waits dominate (seen: 2.2 s vs 5 ms for one small forward pass).
torch.set_num_threads(1)

# A CycleGAN small enough to train a few steps in well under a second.
TINY_CYCLEGAN = [
    "generator=resnet", "ngf=4", "ndf=4", "image_size=32", "load_size=34",
    "batch_size=2", "pool_size=3", "tensorboard=false", "progress=false",
]


def write_images(folder: Path, n: int, size: int = 20, seed: int = 0, mode: str = "RGB", ext: str = ".png") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        arr = rng.integers(0, 256, size=(size, size + 2, 3), dtype=np.uint8)
        img = Image.fromarray(arr, "RGB").convert(mode)
        path = folder / f"img_{i:03d}{ext}"
        img.save(path)
        paths.append(path)
    return paths


@pytest.fixture
def unpaired_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_images(root / "trainA", 5, seed=1)
    write_images(root / "trainB", 4, seed=2)
    write_images(root / "testA", 2, seed=3)
    write_images(root / "testB", 2, seed=4)
    return root


@pytest.fixture
def cli():
    """Run the `translate` CLI in-process; returns (exit_code, output)."""
    from typer.testing import CliRunner

    from translate.cli import _register, app

    _register()
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        from translate.errors import TranslateError

        try:
            result = runner.invoke(app, list(args), catch_exceptions=False)
        except TranslateError as err:
            return 2, f"error: {err}"
        return result.exit_code, result.output

    return invoke
