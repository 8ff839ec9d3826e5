"""Runs, checkpoints and exports written by translate 0.1 keep loading, converting and resuming.

tests/fixtures/v0_1/ was written by the 0.1 code (commit 90b4b04): one two-step run of every
built-in variant on its demo data (tiny nets), a safetensors + sidecar export of the CycleGAN
and the cGAN generators, and a TorchScript-exported ONNX file of the CycleGAN generator.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import translate

FIXTURES = Path(__file__).parent / "fixtures" / "v0_1"
VARIANTS = ["cyclegan", "discogan", "srgan", "gan", "cgan", "cogan"]


@pytest.fixture
def old_runs(tmp_path: Path) -> Path:
    """A writable copy of the 0.1 runs (resuming writes into them)."""
    return Path(shutil.copytree(FIXTURES / "runs", tmp_path / "runs"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_old_runs_still_load_and_run(variant: str) -> None:
    t = translate.load(FIXTURES / "runs" / variant)
    if t.kind == "image":
        photo = np.random.default_rng(0).integers(0, 256, (18, 22, t.in_channels), dtype=np.uint8)
        out = t(photo)
        assert out.shape[:2] == (18 * t.scale, 22 * t.scale) and out.dtype == np.uint8
    else:
        labels = np.zeros(3, dtype=np.int64) if t.num_classes else None
        images = t.generate(np.zeros((3, t.meta.z_dim), np.float32), labels)
        assert images.shape[0] == 3 and images.dtype == np.uint8


def test_old_checkpoint_weights_are_the_ones_loaded() -> None:
    """The translator runs the checkpoint's EMA generator, bit for bit."""
    ckpt = next((FIXTURES / "runs" / "cyclegan" / "checkpoints").glob("step_*.pt"))
    state = torch.load(ckpt, weights_only=True)
    t = translate.load(ckpt)
    module = t.module
    loaded = module.state_dict()
    for key, value in state["ema"]["G_AB"].items():
        assert torch.equal(loaded[key], value), key


@pytest.mark.parametrize("variant", ["cyclegan", "srgan", "cgan"])
@pytest.mark.slow
def test_old_runs_resume(old_runs: Path, variant: str) -> None:
    from translate import config as C
    from translate.jobs import train as T

    run = old_runs / variant
    plan = T.plan(resume=str(run), sets=C.parse_sets(["steps=3"]))
    summary = T.run(plan)
    assert summary["steps"] == 3 and not summary["interrupted"]
    assert (run / "checkpoints" / "step_00000003.pt").is_file()


def test_old_exports_load_and_agree() -> None:
    photo = np.random.default_rng(1).integers(0, 256, (20, 28, 3), dtype=np.uint8)
    from_run = translate.load(FIXTURES / "runs" / "cyclegan")(photo)
    from_safetensors = translate.load(FIXTURES / "cyclegan-AtoB.safetensors")(photo)
    from_onnx = translate.load(FIXTURES / "cyclegan-AtoB.onnx")(photo)
    assert np.array_equal(from_run, from_safetensors)
    assert np.abs(from_run.astype(int) - from_onnx.astype(int)).max() <= 1
    g = translate.load(FIXTURES / "cgan-G.safetensors")
    assert g.class_names and g.num_classes == len(g.class_names)
