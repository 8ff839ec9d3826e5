"""The conditional GAN: conditional nets (concat / projection), the recipe, y fed to both
players, class names from folders, and the CLI (train → sample --label → ONNX export)."""
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
from translate.plugins.cgan import CGAN, CGANConfig

from conftest import QUIET, TINY, flags, write_images


def test_conditional_dcgan_takes_y_in_both_nets():
    G = build_net("dcgan_g", num_classes=10)
    D = build_net("dcgan_d", num_classes=10)
    # G: a 10-wide label embedding concatenated to z; D: 10 one-hot channels next to the image
    assert count_params(G) == 3_576_704 + 10 * 10 + 10 * 512 * 16
    assert count_params(D) == 2_765_568 + 10 * 64 * 16
    y = torch.tensor([0, 9])
    assert G(torch.randn(2, 100), y).shape == (2, 3, 64, 64) and D(torch.randn(2, 3, 64, 64), y).shape == (2,)
    with pytest.raises(ValueError, match="labels"):
        G(torch.randn(2, 100))
    # the label changes the output (it is not ignored)
    G.eval()
    z = torch.randn(1, 100)
    assert not torch.allclose(G(z, torch.tensor([1])), G(z, torch.tensor([2])))


def test_projection_discriminator_adds_the_inner_product_term():
    D = build_net("dcgan_d", in_channels=1, image_size=16, width=4, num_classes=3, conditioning="projection").eval()
    x, y = torch.randn(2, 1, 16, 16), torch.tensor([0, 2])
    h = D.main[:-1](x)
    expected = D.main[-1](h).flatten() + (D.embed(y) * h.sum((2, 3))).sum(1)
    assert torch.allclose(D(x, y), expected)
    assert count_params(D) == count_params(build_net("dcgan_d", in_channels=1, image_size=16, width=4)) + 3 * 8


def test_conditional_mlp_concatenates_one_hot_y():
    G, D = build_net("mlp_g", num_classes=10), build_net("mlp_d", num_classes=10)
    assert count_params(G) == count_params(build_net("mlp_g")) + 10 * 1200
    assert count_params(D) == count_params(build_net("mlp_d")) + 10 * 1200
    assert G(torch.randn(2, 100), torch.tensor([3, 4])).shape == (2, 1, 28, 28)


def test_defaults_are_the_recipe_and_need_classes():
    c = CGANConfig()
    assert (c.adversarial, c.conditioning, c.generator, c.z_dim, c.batch_size, c.lr, c.beta1) == (
        "gan", "concat", "dcgan_g", 100, 128, 2e-4, 0.5)
    with pytest.raises(ConfigError, match="class"):
        CGAN(c).build(c)


def test_train_step_conditions_both_players_on_the_batch_labels():
    cfg = dataclasses.replace(CGANConfig(), image_size=8, ngf=4, ndf=4, z_dim=6, channels=1, num_classes=3)
    v = CGAN(cfg)
    nets = v.build(cfg)
    G, D = nets["G"], nets["D"]
    real, y = torch.rand(4, 1, 8, 8) * 2 - 1, torch.tensor([0, 1, 2, 1])
    torch.manual_seed(5)
    z = torch.randn(4, 6)
    with torch.no_grad():
        fake = G(z, y)
        d_ref = F.softplus(-D(real, y)).mean() + F.softplus(D(fake, y)).mean()
    torch.manual_seed(5)
    out = v.train_step(nets, {"image": real, "label": y}, Step(v.optimizers(nets, cfg), {}))
    assert torch.allclose(out["D"], d_ref, atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(out["G"], F.softplus(-D(fake, y)).mean(), atol=1e-5)


def test_lsgan_option():
    cfg = dataclasses.replace(CGANConfig(), image_size=8, ngf=4, ndf=4, z_dim=6, channels=1, num_classes=2,
                              adversarial="lsgan")
    v = CGAN(cfg)
    nets = v.build(cfg)
    real, y = torch.rand(2, 1, 8, 8), torch.tensor([0, 1])
    torch.manual_seed(0)
    with torch.no_grad():
        fake = nets["G"](torch.randn(2, 6), y)
        d_ref = (nets["D"](real, y) - 1).pow(2).mean() + nets["D"](fake, y).pow(2).mean()
    torch.manual_seed(0)
    out = v.train_step(nets, {"image": real, "label": y}, Step(v.optimizers(nets, cfg), {}))
    assert torch.allclose(out["D"], d_ref, atol=1e-5)


def test_sample_rows_one_row_per_class_same_z():
    cfg = dataclasses.replace(CGANConfig(), image_size=8, ngf=4, ndf=4, z_dim=6, channels=1, num_classes=3)
    v = CGAN(cfg)
    nets = v.build(cfg)
    nets["G"].eval()
    rows = v.sample_rows(nets, {"image": torch.zeros(2, 1, 8, 8), "label": torch.zeros(2, dtype=torch.long)})
    assert [label for label, _ in rows] == ["real", "G(z, y=0)", "G(z, y=1)", "G(z, y=2)"]
    z = v.fixed.z[:2]
    assert torch.equal(rows[3][1], nets["G"](z, torch.full((2,), 2)))


class PerfectJudge(nn.Module):
    """Knows the class a generated image was asked for: images carry it as their mean × 10."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.head = nn.Linear(k, k, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(torch.eye(k))
        self.k = k

    def features(self, x: torch.Tensor) -> torch.Tensor:
        cls = (x.flatten(1).mean(1) * 10).round().long().clamp(0, self.k - 1)
        return F.one_hot(cls, self.k).float()


def test_evaluate_scores_requested_labels():
    cfg = dataclasses.replace(CGANConfig(), image_size=8, ngf=4, ndf=4, z_dim=6, channels=1, num_classes=3,
                              eval_samples=30)
    v = CGAN(cfg)

    class Oracle(nn.Module):  # a generator that draws exactly the requested class (but class 2 as 1)
        def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return (y.clamp(max=1).float() / 10).view(-1, 1, 1, 1).expand(-1, 1, 8, 8)

    nets = {"G": Oracle()}
    real = torch.cat([torch.full((10, 1, 8, 8), c / 10) for c in range(3)])
    scores = v.evaluate(nets, {"images": real, "classifier": lambda: (PerfectJudge(3), 1.0), "class_names": ["a", "b", "c"]})
    assert scores["label_accuracy/a"] == 1.0 and scores["label_accuracy/b"] == 1.0 and scores["label_accuracy/c"] == 0.0
    assert abs(scores["label_accuracy"] - 2 / 3) < 1e-9 and scores["label_accuracy_min"] == 0.0


def test_cli_train_sample_by_label_and_export(tmp_path: Path, cli):
    for name, seed in (("seven", 1), ("three", 2), ("zero", 3)):
        write_images(tmp_path / "digits" / name, 2, seed=seed, mode="L")
    runs = tmp_path / "runs"
    code, out = cli("train", "cgan", "--data", str(tmp_path / "digits"), "--name", "c", "--runs-dir", str(runs),
                    "--steps", "2", *flags(*TINY["cgan"], *QUIET, "channels=1"))
    assert code == 0, out
    assert "num_classes: 3" in (runs / "c" / "config.yaml").read_text()
    state = torch.load(runs / "c" / "checkpoints" / "step_00000002.pt", weights_only=True)
    assert state["data"]["class_names"] == ["seven", "three", "zero"]  # sorted folder names
    code, out = cli("sample", str(runs / "c"), "-n", "4", "--label", "seven", str(tmp_path / "seven.png"))
    assert code == 0, out
    code, out = cli("sample", str(runs / "c"), "-n", "4", "--label", "2", str(tmp_path / "zero.png"))
    assert code == 0, out
    code, out = cli("sample", str(runs / "c"), "-n", "6", str(tmp_path / "grid.png"))  # a class-by-row grid
    assert code == 0, out
    code, out = cli("sample", str(runs / "c"), "-n", "2", "--label", "eight", str(tmp_path / "x.png"))
    assert code == 2 and "seven" in out
    code, out = cli("export", str(runs / "c"), "--format", "onnx", "-o", str(tmp_path / "c.onnx"), "--exporter", "torchscript")
    assert code == 0, out
    # a folder that is not class-per-subfolder, and a num_classes that contradicts the folders
    write_images(tmp_path / "flat", 2)
    code, out = cli("train", "cgan", "--data", str(tmp_path / "flat"), *flags(*TINY["cgan"], *QUIET))
    assert code == 1 and "subfolder" in out  # a data error: exit 1
    code, out = cli("train", "cgan", "--data", str(tmp_path / "digits"), *flags(*TINY["cgan"], *QUIET, "num_classes=5"))
    assert code == 2 and "3 classes" in out


def test_demo_preset_builds_small_nets():
    from translate import config as C

    cfg = CGAN.settle(C.apply(CGAN.config(), CGAN.demo), {"class_names": [str(i) for i in range(10)]})
    nets = CGAN(cfg).build(cfg)
    assert sum(count_params(n) for n in nets.values()) < 1_000_000
