"""The vanilla GAN: DCGAN/MLP nets layer for layer, the recipe, the loss formula, the CLI
(train → sample → ONNX export), fixed preview z, and evaluate on a stub judge."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from translate.engine.step import Step
from translate.nets import build_net, count_params
from translate.plugins.gan import GAN, GANConfig

from conftest import QUIET, TINY, StubJudge, flags, write_images


def test_dcgan_64px_matches_the_pytorch_reference():
    G, D = build_net("dcgan_g"), build_net("dcgan_d")
    assert count_params(G) == 3_576_704 and count_params(D) == 2_765_568
    convs = [m for m in G.main if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [(100, 512), (512, 256), (256, 128), (128, 64), (64, 3)]
    assert convs[0].stride == (1, 1) and all(m.stride == (2, 2) and m.kernel_size == (4, 4) for m in convs[1:])
    assert isinstance(G.main[-1], nn.Tanh)
    assert G(torch.randn(2, 100)).shape == (2, 3, 64, 64) and G(torch.randn(2, 100, 1, 1)).shape == (2, 3, 64, 64)
    # D: no BN on the first layer, LeakyReLU 0.2, one logit per image, PyTorch's BN eps (not 0.8)
    assert isinstance(D.main[1], nn.LeakyReLU) and D.main[1].negative_slope == 0.2
    norms = [m for m in D.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 3 and all(m.eps == 1e-5 for m in norms + [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert D(torch.randn(3, 3, 64, 64)).shape == (3,)


def test_dcgan_sizes_are_powers_of_two():
    G = build_net("dcgan_g", out_channels=1, image_size=32, width=16)
    assert [m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d)] == [64, 32, 16, 1]
    assert G(torch.randn(2, 100)).shape == (2, 1, 32, 32)
    assert build_net("dcgan_g", image_size=128, width=8)(torch.randn(1, 100)).shape == (1, 3, 128, 128)
    assert build_net("dcgan_d", in_channels=1, image_size=8, width=4)(torch.randn(2, 1, 8, 8)).shape == (2,)
    with pytest.raises(ValueError, match="power of two"):
        build_net("dcgan_g", image_size=48)


def test_mlp_nets_are_the_2014_paper():
    G, D = build_net("mlp_g"), build_net("mlp_d")
    assert count_params(G) == (100 * 1200 + 1200) + (1200 * 1200 + 1200) + (1200 * 784 + 784)
    assert count_params(D) == (784 * 1200 + 1200) + (240 * 1200 + 1200) + 241  # maxout 240 × 5 pieces, twice
    assert G(torch.randn(2, 100)).shape == (2, 1, 28, 28) and D(torch.randn(2, 1, 28, 28)).shape == (2,)
    maxout = D.main[0]
    x = torch.randn(4, 784)
    expected = maxout.linear(x).view(4, 240, 5).max(-1).values
    assert torch.equal(maxout(x), expected)


def test_defaults_are_the_recipe():
    c = GANConfig()
    assert (c.generator, c.discriminator, c.adversarial, c.z_dim) == ("dcgan_g", "dcgan_d", "gan", 100)
    assert (c.lr, c.beta1, c.beta2, c.batch_size, c.init_std) == (2e-4, 0.5, 0.999, 128, 0.02)
    assert (c.image_size, c.channels, c.ngf, c.ndf) == (64, 3, 0, 0)  # width 0: DCGAN's 64 filters
    v = GAN(c)
    nets = v.build(c)
    assert count_params(nets["G"]) == 3_576_704 and count_params(nets["D"]) == 2_765_568
    conv = nets["G"].main[0]
    assert abs(conv.weight.std().item() - 0.02) < 0.002  # the shared N(0, 0.02) init was applied


def test_train_step_is_the_non_saturating_bce_game():
    cfg = dataclasses.replace(GANConfig(), image_size=16, ngf=4, ndf=4, z_dim=8, channels=1)
    v = GAN(cfg)
    nets = v.build(cfg)
    G, D = nets["G"], nets["D"]
    real = torch.rand(4, 1, 16, 16) * 2 - 1
    torch.manual_seed(3)
    z = torch.randn(4, 8)
    with torch.no_grad():
        fake = G(z)
        d_ref = -F.logsigmoid(D(real)).mean() - torch.log1p(-torch.sigmoid(D(fake))).mean()
    g_before = [p.clone() for p in G.parameters()]
    torch.manual_seed(3)  # the step draws the same z
    out = v.train_step(nets, {"image": real}, Step(v.optimizers(nets, cfg), {}))
    assert torch.allclose(out["D"], d_ref, atol=1e-5)
    with torch.no_grad():  # G's loss is taken against the D that was just updated
        g_ref = -F.logsigmoid(D(fake)).mean()
    assert torch.allclose(out["G"], g_ref, atol=1e-5)
    assert all(p.requires_grad for p in D.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(g_before, G.parameters()))


def test_fixed_z_survives_state_round_trip_and_sample_rows():
    cfg = dataclasses.replace(GANConfig(), image_size=16, ngf=4, ndf=4, z_dim=8, channels=1)
    a, b = GAN(cfg), GAN(cfg)
    b.fixed.z = torch.zeros_like(b.fixed.z)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.fixed.z, b.fixed.z)
    nets = a.build(cfg)
    for net in nets.values():
        net.eval()
    rows = a.sample_rows(nets, {"image": torch.zeros(3, 1, 16, 16)})
    assert len(rows) == 5 and all(r.shape == (3, 1, 16, 16) for _, r in rows) and rows[0][0] == "real"
    assert torch.equal(rows[1][1], nets["G"](a.fixed.z[:3]))  # the same z every time


def test_evaluate_reports_mode_coverage_and_frechet_distance():
    cfg = dataclasses.replace(GANConfig(), image_size=8, ngf=2, ndf=2, z_dim=4, channels=1, eval_samples=40)
    v = GAN(cfg)
    nets = v.build(cfg)
    for net in nets.values():
        net.eval()
    real = torch.cat([torch.full((50, 1, 8, 8), -0.5), torch.full((50, 1, 8, 8), 0.5)])[torch.randperm(100)]
    scores = v.evaluate(nets, {"images": real, "classifier": lambda: (StubJudge(), 0.97)})
    assert scores["classifier_real_accuracy"] == 0.97
    assert math.isclose(scores["class_share_min"] + scores["class_share_max"], 1.0)
    assert scores["fd"] > scores["fd_real_baseline"] >= 0


def test_cli_train_sample_export(tmp_path: Path, cli):
    write_images(tmp_path / "faces" / "nested", 4, seed=1)
    runs = tmp_path / "runs"
    code, out = cli("train", "gan", "--data", str(tmp_path / "faces"), "--name", "g", "--runs-dir", str(runs),
                    "--steps", "2", *flags(*TINY["gan"], *QUIET))
    assert code == 0, out
    assert "steps: 2" in out and (runs / "g" / "checkpoints" / "step_00000002.pt").is_file()
    assert list((runs / "g" / "samples").glob("*.png"))
    code, out = cli("sample", str(runs / "g"), "-n", "6", str(tmp_path / "grid.png"))
    assert code == 0, out
    assert (tmp_path / "grid.png").is_file()
    code, out = cli("sample", str(runs / "g"), "-n", "2", "--label", "3", str(tmp_path / "x.png"))
    assert code == 2 and "unconditional" in out
    onnx_path = tmp_path / "g.onnx"
    code, out = cli("export", str(runs / "g"), "--format", "onnx", "-o", str(onnx_path), "--exporter", "torchscript")
    assert code == 0, out
    assert onnx_path.is_file() and "parity" in out
    code, out = cli("train", "gan", "--data", str(tmp_path / "faces"), "--data-b", str(tmp_path), *flags(*TINY["gan"], *QUIET))
    assert code == 2 and "--data-b" in out


def test_demo_preset_builds_small_nets():
    from translate import config as C

    cfg = C.apply(GAN.config(), GAN.demo)
    nets = GAN(cfg).build(cfg)
    assert sum(count_params(n) for n in nets.values()) < 1_000_000
