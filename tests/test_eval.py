"""`translate eval` beyond super-resolution: FID/KID maths, translation and noise runs scored with a
stand-in feature network, the do-nothing baselines, --truth, and the one line for missing weights."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from translate.jobs import train as T
from translate.errors import WeightsError
from translate.jobs.evaluate import evaluate
from translate.metrics import fid as F

from conftest import QUIET, TINY, plan_run, write_images


def test_fid_and_kid_against_hand_computations():
    x = np.array([[0, 1], [2, 1], [0, 3], [2, 3]], float)  # μ (1, 2), Σ = 4/3·I
    y = np.array([[1, 2], [5, 2], [1, 6], [5, 6]], float)  # μ (3, 4), Σ = 16/3·I
    assert F.fid(x, y) == pytest.approx(8 + 2 * (4 / 3 + 16 / 3 - 2 * 8 / 3))  # = 32/3
    kid, std = F.kid(np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]]), subsets=5)
    assert kid == pytest.approx(9.5) and std == pytest.approx(0.0)  # (2 + 54)/2 − 2·37/4
    assert F.fid(x, x) == pytest.approx(0.0, abs=1e-9)


def test_fid_of_known_gaussians():
    """FID of samples from N(μ1, Σ1) and N(μ2, Σ2) approaches the closed form
    ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2(Σ1 Σ2)^½); with diagonal Σ = diag(a), diag(b): Σ (√a − √b)²."""
    rng = np.random.default_rng(0)
    d, n = 4, 200_000
    a, b = np.array([1.0, 2.0, 0.5, 4.0]), np.array([2.0, 2.0, 1.0, 1.0])
    mu1, mu2 = np.zeros(d), np.array([1.0, 0.0, -1.0, 0.5])
    x = mu1 + rng.standard_normal((n, d)) * np.sqrt(a)
    y = mu2 + rng.standard_normal((n, d)) * np.sqrt(b)
    exact = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert F.fid(x, y) == pytest.approx(exact, rel=0.02)
    kid, _ = F.kid(x[:3000], y[:3000], subsets=10, subset_size=1000)
    same, _ = F.kid(x[:3000], x[3000:6000], subsets=10, subset_size=1000)
    assert kid > 0.1 and abs(same) < 0.02


class _Standin:
    """A small fixed feature network: uint8 images -> 8 channel means of a random conv."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.float() / 255).mean((2, 3))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("evalrun")
    for d, seed in (("trainA", 1), ("trainB", 2), ("testA", 3), ("testB", 4)):
        write_images(root / "data" / d, 6, size=32, seed=seed)
    plan = plan_run("cyclegan", root / "data", root / "runs", "c", [*TINY["cyclegan"], *QUIET, "steps=2"])
    T.run(plan)
    return plan.run_dir


def test_translation_eval_with_baselines(tiny_run):
    report = evaluate(tiny_run, features=_Standin())
    assert report["kind"] == "translation" and report["data"].endswith("data")
    figures = report["figures"]
    for d in ("AtoB", "BtoA"):
        assert {f"fid_{d}", f"fid_{d}_baseline", f"kid_{d}", f"kid_{d}_baseline"} <= set(figures)
        assert np.isfinite(figures[f"fid_{d}"]) and figures[f"fid_{d}_baseline"] >= 0
    rows = {r["direction"]: r for r in report["directions"]}
    assert rows["A→B"]["images"] == 6 and rows["A→B"]["targets"] == 6


def test_truth_metrics_and_cli(tiny_run, tmp_path, cli, monkeypatch):
    """testB holding the true translations (here: copies of testA under the same names)."""
    import shutil

    data = tmp_path / "truth"
    shutil.copytree(tiny_run.parent.parent / "data" / "testA", data / "testA")
    shutil.copytree(data / "testA", data / "testB")
    report = evaluate(tiny_run, data=data, truth=True, features=_Standin())
    f = report["figures"]
    assert f["psnr_AtoB_baseline"] == pytest.approx(100.0)  # the input is its own truth here
    assert f["ssim_AtoB_baseline"] == pytest.approx(1.0, abs=1e-6) and f["psnr_AtoB"] < 100
    assert any(n.startswith("no LPIPS") for n in report["notes"])
    monkeypatch.setattr(F, "inception", lambda *a, **k: _Standin())
    code, out = cli("eval", str(tiny_run))
    assert code == 0, out
    saved = json.loads((tiny_run / "eval.json").read_text())
    assert "fid_AtoB" in saved["figures"] and "fid_AtoB" in out
    assert "fid_AtoB" in (tiny_run / "index.html").read_text()  # the gallery shows the figures
    assert list((tiny_run / "tb").glob("events.out.tfevents.*"))


def test_lpips_with_local_alexnet_weights(tiny_run, tmp_path):
    import torchvision

    weights = tmp_path / "alexnet.pth"
    torch.save(torchvision.models.alexnet().state_dict(), weights)  # stand-in weights, the real layout
    data = tmp_path / "truth"
    write_images(data / "testA", 3, size=32, seed=5)
    write_images(data / "testB", 3, size=32, seed=5)
    report = evaluate(tiny_run, data=data, truth=True, features=_Standin(), sets={"lpips_weights": str(weights)})
    assert report["figures"]["lpips_AtoB_baseline"] == pytest.approx(0.0, abs=1e-6)  # identical images
    assert report["figures"]["lpips_AtoB"] > 0


def test_missing_inception_weights_is_one_line(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(WeightsError) as err:
        evaluate(tiny_run)
    msg = str(err.value)
    assert "\n" not in msg and F.INCEPTION_FILE in msg and str(tmp_path / "hub" / "checkpoints") in msg
    assert "inception_weights=PATH" in msg


def test_noise_eval_against_the_training_images(tmp_path):
    from PIL import Image

    (tmp_path / "faces").mkdir()
    corners = [np.array([(c >> 2) & 1, (c >> 1) & 1, c & 1]) * 255 for c in range(8)]
    for i in range(32):  # the 8 saturated flat colours, in turn: both halves hold the same mix
        Image.fromarray(np.full((20, 20, 3), corners[i % 8], np.uint8)).save(tmp_path / "faces" / f"{i:02d}.png")
    plan = plan_run("gan", tmp_path / "faces", tmp_path / "runs", "g", [*TINY["gan"], *QUIET, "steps=1"])
    T.run(plan)
    report = evaluate(plan.run_dir, features=_Standin(), sets={"kid_subset_size": "4"})
    f = report["figures"]
    assert report["kind"] == "noise" and {"fid_G", "kid_G", "fid_baseline", "kid_baseline"} <= set(f)
    assert f["fid_G"] > f["fid_baseline"] >= 0  # an untrained generator is far from the data


@pytest.mark.slow
def test_the_inception_loader_reads_a_local_file_only(tmp_path):
    """torch-fidelity's Inception from a local file (random weights in the real layout): 2048-d features."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    empty = tmp_path / "empty.pth"
    torch.save({}, empty)
    original = FeatureExtractorInceptionV3.load_state_dict
    FeatureExtractorInceptionV3.load_state_dict = lambda self, *a, **k: None  # build once, random weights
    try:
        fake = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    finally:
        FeatureExtractorInceptionV3.load_state_dict = original
    path = tmp_path / F.INCEPTION_FILE
    torch.save(fake.state_dict(), path)
    extract = F.inception(path)
    images = [np.random.default_rng(i).integers(0, 256, (40, 40, 3), dtype=np.uint8) for i in range(3)]
    assert F.features(extract, images).shape == (3, 2048)


def test_training_end_and_eval_agree_on_every_figure_they_share(tmp_path):
    """One held-out set and one name per figure: the summary a demo run writes at its end and
    `translate eval` of its checkpoint (EMA weights, outputs saved as uint8) give the same numbers;
    the gallery lists each figure once and says what was not computed."""
    from translate.jobs.rundir import RunDir

    plan = plan_run("cyclegan", None, tmp_path / "runs", "d",
                    [*TINY["cyclegan"], *QUIET, "steps=2", "ema=0.5"])
    summary = T.run(plan)
    report = evaluate(plan.run_dir)
    shared = sorted(set(summary) & set(report["figures"]))
    assert shared == ["psnr_AtoB", "psnr_AtoB_baseline", "psnr_BtoA", "psnr_BtoA_baseline"]
    assert "psnr_identity" not in summary
    for key in shared:
        assert summary[key] == pytest.approx(report["figures"][key], abs=1e-3), key
    run = RunDir(plan.run_dir)
    run.write_json(run.eval_path, report)
    from translate.jobs.gallery import write_run_gallery

    page = write_run_gallery(run).read_text()
    assert page.count("<th>psnr_AtoB</th>") == 1 and page.count("<th>psnr_AtoB_baseline</th>") == 1
    assert "training&#x27;s end:" not in page  # no disagreement to report
    assert "Not computed" in page and "no FID/KID" in page
