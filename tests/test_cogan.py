"""CoGAN: the official digits nets, weight sharing (shared first G layers, private first D
layer), the coupled loss, pair consistency on the demo mapping, and the CLI (train with
--data/--data-b → sample pairs → ONNX export)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from translate.engine.step import Step
from translate.errors import ConfigError
from translate.nets import build_net, count_params
from translate.plugins.cogan import CoGAN, CoGANConfig

from conftest import QUIET, TINY, flags, write_images


def test_official_digits_generator():
    G = build_net("cogan_digits_g")
    convs = [m for m in G.shared if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0]) for m in convs] == [
        (100, 1024, 4, 1, 0), (1024, 512, 3, 2, 1), (512, 256, 3, 2, 1), (256, 128, 3, 2, 1)]
    norms = [m for m in G.shared if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 4 and not any(m.affine for m in norms)
    assert sum(isinstance(m, nn.PReLU) for m in G.shared) == 4
    for head in G.heads:
        assert (head[0].in_channels, head[0].out_channels, head[0].kernel_size, head[0].padding) == (128, 1, (6, 6), (1, 1))
        assert isinstance(head[1], nn.Sigmoid)
    shared = 100 * 1024 * 16 + 1024 + 1024 * 512 * 9 + 512 + 512 * 256 * 9 + 256 + 256 * 128 * 9 + 128 + 4
    assert count_params(G) == shared + 2 * (128 * 36 + 1)
    x1, x2 = G(torch.randn(3, 100))
    assert x1.shape == x2.shape == (3, 1, 28, 28) and 0 <= x1.min() and x1.max() <= 1


def test_official_digits_discriminator():
    D = build_net("cogan_digits_d")
    for stem in D.stems:
        assert (stem[0].in_channels, stem[0].out_channels, stem[0].kernel_size) == (1, 20, (5, 5))
        assert isinstance(stem[1], nn.MaxPool2d)
    convs = [m for m in D.shared if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size[0]) for m in convs] == [(20, 50, 5), (50, 500, 4), (500, 1, 1)]
    assert count_params(D) == 2 * (25 * 20 + 20) + (20 * 50 * 25 + 50) + (50 * 500 * 16 + 500) + 1 + 501
    a, b = D(torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28))
    assert a.shape == b.shape == (2,)
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(D(x, domain=1), D(x, x)[1])


def test_weight_sharing_is_the_same_tensors():
    G, D = build_net("cogan_digits_g"), build_net("cogan_digits_d")
    # Generators: one shared trunk object; the private last layers are distinct tensors
    a, b = G.branch(0), G.branch(1)
    shared_a = {id(p) for p in a.coupled.shared.parameters()}
    assert shared_a == {id(p) for p in b.coupled.shared.parameters()}
    head_a, head_b = G.heads[0][0].weight, G.heads[1][0].weight
    assert head_a is not head_b and head_a.data_ptr() != head_b.data_ptr()
    # Discriminators: the FIRST layer is private, the rest shared
    assert D.stems[0][0].weight is not D.stems[1][0].weight
    assert len({id(p) for p in D.parameters()}) == count_params_tensors(D)
    # a step on the shared trunk changes both domains' outputs; one on a head changes one
    G.eval()
    z = torch.randn(2, 100)
    before = [x.clone() for x in G(z)]
    with torch.no_grad():
        G.heads[1][0].bias.add_(0.5)
    after = G(z)
    assert torch.equal(after[0], before[0]) and not torch.equal(after[1], before[1])
    with torch.no_grad():
        G.shared[0].weight.mul_(2)
    moved = G(z)
    assert not torch.equal(moved[0], after[0]) and not torch.equal(moved[1], after[1])
    # the init gives the private heads different weights
    G2 = build_net("cogan_digits_g")
    from translate.nets import init_weights

    init_weights(G2)
    assert not torch.equal(G2.heads[0][0].weight, G2.heads[1][0].weight)


def count_params_tensors(net: nn.Module) -> int:
    return len(list(net.parameters()))


def test_defaults_are_the_official_recipe():
    c = CoGANConfig()
    assert (c.generator, c.discriminator, c.z_dim, c.adversarial) == ("cogan_digits_g", "cogan_digits_d", 100, "gan")
    assert (c.lr, c.beta1, c.beta2, c.batch_size, c.image_size, c.channels) == (2e-4, 0.5, 0.999, 64, 28, 1)
    assert CoGAN.value_range == (0.0, 1.0)
    with pytest.raises(ConfigError, match="28"):
        CoGAN(c).build(dataclasses.replace(c, image_size=32))


def test_train_step_sums_the_two_gan_games():
    cfg = dataclasses.replace(CoGANConfig(), ngf=4, ndf=2, z_dim=8)
    v = CoGAN(cfg)
    nets = v.build(cfg)
    G, D = nets["G"], nets["D"]
    a, b = torch.rand(3, 1, 28, 28) * 2 - 1, torch.rand(3, 1, 28, 28) * 2 - 1  # data arrive in [-1, 1]
    torch.manual_seed(1)
    z = torch.randn(3, 8)
    with torch.no_grad():
        f1, f2 = G(z)
        r1, r2 = D((a + 1) / 2, (b + 1) / 2)
        g1, g2 = D(f1, f2)
        d1 = F.softplus(-r1).mean() + F.softplus(g1).mean()
        d2 = F.softplus(-r2).mean() + F.softplus(g2).mean()
    torch.manual_seed(1)
    out = v.train_step(nets, {"A": a, "B": b}, Step(v.optimizers(nets, cfg), {}))
    assert torch.allclose(out["D1"], d1, atol=1e-5) and torch.allclose(out["D2"], d2, atol=1e-5)
    with torch.no_grad():
        n1, n2 = D(f1, f2)
    assert torch.allclose(out["G1"], F.softplus(-n1).mean(), atol=1e-5)
    assert torch.allclose(out["G2"], F.softplus(-n2).mean(), atol=1e-5)


def test_evaluate_prefers_true_pairs():
    cfg = dataclasses.replace(CoGANConfig(), ngf=4, ndf=2, z_dim=8, eval_samples=20)
    v = CoGAN(cfg)

    class Inverter(nn.Module):  # a perfect coupled generator for the "invert" mapping
        def forward(self, z: torch.Tensor, domain: int | None = None):
            x = torch.sigmoid(z[:, :1, None, None].expand(-1, 1, 28, 28) * 3)
            pair = (x, 1 - x)
            return pair if domain is None else pair[domain]

    class Bright(nn.Module):  # a 2-class judge: dark or bright
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Identity()

        def features(self, x: torch.Tensor) -> torch.Tensor:
            m = x.flatten(1).mean(1, keepdim=True)
            return torch.cat([-m, m], 1)

    nets = {"G": Inverter()}
    scores = v.evaluate(nets, {"classifier": lambda: (Bright(), 1.0), "mapping": "invert"})
    assert scores["pair_psnr"] == pytest.approx(100.0)  # exact: mse clamped at 1e-10
    assert scores["unpaired_psnr"] < 30 and scores["pair_psnr_gain"] > 50
    assert scores["pair_class_agreement"] == 1.0 and scores["unpaired_class_agreement"] < 1.0


def test_cli_two_folders_train_sample_export(tmp_path: Path, cli):
    write_images(tmp_path / "a", 3, size=30, seed=1, mode="L")
    write_images(tmp_path / "b", 2, size=30, seed=2, mode="L")
    runs = tmp_path / "runs"
    code, out = cli("train", "cogan", "--data", str(tmp_path / "a"), "--data-b", str(tmp_path / "b"), "--name", "co",
                    "--runs-dir", str(runs), "--steps", "2", *flags(*TINY["cogan"], *QUIET))
    assert code == 0, out
    assert "steps: 2" in out and "data_b:" in (runs / "co" / "config.yaml").read_text()
    code, out = cli("sample", str(runs / "co"), "-n", "4", str(tmp_path / "pairs.png"))
    assert code == 0, out
    from PIL import Image

    with Image.open(tmp_path / "pairs.png") as im:
        assert im.width > 28 * 2  # pairs side by side
    code, out = cli("export", str(runs / "co"), "--format", "onnx", "-o", str(tmp_path / "co.onnx"), "--exporter", "torchscript")
    assert code == 0, out
    # one folder with A/ B/ inside works too; a folder without them is a one-line error
    write_images(tmp_path / "ab" / "A", 2, size=30, seed=3)
    write_images(tmp_path / "ab" / "B", 2, size=30, seed=4)
    code, out = cli("train", "cogan", "--data", str(tmp_path / "ab"), "--runs-dir", str(runs), "--steps", "1",
                    *flags(*TINY["cogan"], *QUIET, "channels=3"))
    assert code == 0, out
    code, out = cli("train", "cogan", "--data", str(tmp_path / "a"), *flags(*TINY["cogan"], *QUIET))
    assert code == 1 and "--data-b" in out  # a data error: exit 1


def test_demo_preset_builds_small_nets():
    from translate import config as C

    cfg = C.apply(CoGAN.config(), CoGAN.demo)
    nets = CoGAN(cfg).build(cfg)
    assert sum(count_params(n) for n in nets.values()) < 1_000_000
