"""Generative quality figures on hand-made inputs with known answers, and the judge classifier."""
from __future__ import annotations

import math

import pytest
import torch

from translate.metrics.generative import (
    class_histogram,
    classify,
    coupled_scores,
    frechet_distance,
    coverage_scores,
    known_mapping,
    pair_consistency,
    per_class_accuracy,
)

from conftest import StubJudge


def test_frechet_distance_closed_forms():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 3, generator=g)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # shifted mean, same covariance: exactly ‖Δμ‖² (the covariance terms cancel)
    assert frechet_distance(a, a + torch.tensor([3.0, 0.0, 4.0])) == pytest.approx(25.0, rel=1e-6)
    # diagonal covariances: Σ (σa − σb)²; here σ = 1 vs σ = 2, 3 and 1 → 1 + 4 + 0
    b = a * torch.tensor([2.0, 3.0, 1.0])
    expected = sum((1 - s) ** 2 for s in (2.0, 3.0, 1.0))
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.03)
    # symmetric, and finite for degenerate (rank-deficient) features
    assert frechet_distance(b, a) == pytest.approx(frechet_distance(a, b), rel=1e-6)
    flat = torch.zeros(100, 3)
    assert math.isfinite(frechet_distance(flat, a[:100]))


def test_frechet_distance_with_full_covariance():
    # Σa = I, Σb = [[2, 1], [1, 2]] (eigenvalues 1 and 3): tr = 2 + 4 − 2·(1 + √3)
    g = torch.Generator().manual_seed(1)
    a = torch.randn(50000, 2, generator=g)
    root = torch.tensor([[2.0, 1.0], [1.0, 2.0]])
    vals, vecs = torch.linalg.eigh(root)
    b = torch.randn(50000, 2, generator=g) @ (vecs * vals.sqrt()) @ vecs.T
    assert frechet_distance(a, b) == pytest.approx(6 - 2 * (1 + math.sqrt(3)), abs=0.03)


def test_class_histogram_and_per_class_accuracy():
    pred = torch.tensor([0, 0, 1, 1, 1, 3, 3, 3])
    hist = class_histogram(pred, 4)
    assert hist.tolist() == [0.25, 0.375, 0.0, 0.375]
    target = torch.tensor([0, 1, 1, 1, 2, 3, 3, 3])
    acc = per_class_accuracy(pred, target, 5)
    assert acc[:4].tolist() == [1.0, 2 / 3, 0.0, 1.0] and math.isnan(acc[4])  # class 4 was never asked for


def test_pair_consistency_paired_vs_unpaired():
    invert = known_mapping("invert", (0.0, 1.0))
    x1 = torch.rand(8, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    paired, unpaired = pair_consistency(x1, 1 - x1, invert, (0.0, 1.0))
    assert paired == pytest.approx(100.0)  # mse clamped at 1e-10 → 100 dB
    # unpaired compares x2[i-1] with mapping(x1[i]): two independent uniform images, mse = 1/6
    assert 5 < unpaired < 10
    # a constant image pairs with its own inversion at a known PSNR
    half = torch.full((2, 1, 4, 4), 0.25)
    paired, _ = pair_consistency(half, half, invert, (0.0, 1.0))  # mse = 0.5² → 6.02 dB
    assert paired == pytest.approx(10 * math.log10(4), abs=1e-4)
    assert known_mapping("invert", (-1.0, 1.0))(torch.tensor([0.5])).item() == -0.5
    with pytest.raises(ValueError, match="unknown mapping"):
        known_mapping("rotate", (0.0, 1.0))


def test_gan_scores_see_mode_collapse():
    judge = StubJudge()
    real = torch.cat([torch.full((100, 1, 2, 2), -0.5), torch.full((100, 1, 2, 2), 0.5)])[torch.randperm(200)]
    collapsed = torch.full((100, 1, 2, 2), 0.5)
    covered = real[:100]
    bad, good = coverage_scores(judge, collapsed, real, 2), coverage_scores(judge, covered, real, 2)
    assert bad["class_share_min"] == 0.0 and bad["classes_covered"] == 1.0
    assert good["classes_covered"] == 2.0 and good["class_share_min"] > 0.3
    assert bad["fd"] > 0.2 > good["fd"]  # collapse: variance 0.25 lost, mean off by 0.5·share
    pred, feats = classify(judge, real)
    assert feats.shape == (200, 1) and set(pred.tolist()) == {0, 1}


def test_cogan_scores_without_classifier():
    x1 = torch.rand(6, 1, 3, 3, generator=torch.Generator().manual_seed(4))
    scores = coupled_scores(None, x1, 1 - x1, known_mapping("invert", (0.0, 1.0)), (0.0, 1.0))
    assert set(scores) == {"pair_psnr", "unpaired_psnr", "pair_psnr_gain"}
    assert scores["pair_psnr_gain"] == pytest.approx(scores["pair_psnr"] - scores["unpaired_psnr"])


def test_classifier_trains_and_caches(tmp_path, monkeypatch):
    from translate.metrics import judge as C

    monkeypatch.setenv("TRANSLATE_CACHE", str(tmp_path))
    g = torch.Generator().manual_seed(0)
    # two trivially separable classes: dark and bright 8×8 images
    x = torch.cat([torch.full((320, 1, 8, 8), -0.6), torch.full((320, 1, 8, 8), 0.6)])
    x = x + 0.05 * torch.randn(x.shape, generator=g)
    y = torch.cat([torch.zeros(320), torch.ones(320)]).long()
    calls = []

    def make_data():
        calls.append(1)
        return x, y, x, y

    net, acc = C.cached_classifier("toy", make_data, 2)
    assert acc == 1.0 and not net.training
    assert (tmp_path / "classifiers" / "toy.safetensors").is_file()
    again, acc2 = C.cached_classifier("toy", make_data, 2)
    assert len(calls) == 1 and acc2 == 1.0  # the second call read the cache
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    # the global RNG is left alone by training
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    C.train_classifier(x, y, 2, epochs=1)
    assert torch.equal(torch.rand(3), expected)
