"""pix2pix: paired data (both layouts, one crop and flip for A and B), the paper's recipe, the
U-Net in the reference's key layout (official .pth files load), paper vs --eval test time."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from translate import config as C
from translate.jobs import train as T
from translate.data import data_kind, open_data
from translate.errors import ConfigError, DataError
from translate.inference.loading import load, open_model
from translate.metrics.image import psnr
from translate.nets import build_net, count_params, set_test_mode
from translate.jobs.sizes import check_sizes
from translate.variant import VARIANTS

from conftest import QUIET, TINY, tiny_config


def _aligned(folder: Path, n: int, size: int = 24, same: bool = False, seed: int = 0) -> None:
    """n A|B files (B = A when `same`), asymmetric content so a flip shows."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        a = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
        b = a.copy() if same else rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
        Image.fromarray(np.concatenate([a, b], axis=1)).save(folder / f"{i:03d}.png")


@pytest.fixture(autouse=True)
def _plugins():
    from translate import discovery

    discovery.load_all()


def cfg(**kw):
    return tiny_config("pix2pix", **kw)


def test_the_papers_recipe_is_the_default():
    c = VARIANTS.get("pix2pix").config()
    assert (c.generator, c.discriminator, c.norm, c.dropout, c.adversarial, c.lambda_l1) == \
        ("unet_256", "patchgan", "batch", 0.5, "gan", 100.0)
    assert (c.lr, c.beta1, c.batch_size, c.epochs, c.decay_epochs, c.load_size, c.image_size, c.flip) == \
        (2e-4, 0.5, 1, 100, 100, 286, 256, True)
    assert c.direction == "AtoB" and VARIANTS.get("pix2pix").data == "paired"


def test_unet_256_matches_the_reference_layout():
    G = build_net("unet_256")
    assert count_params(G) == 54_413_955  # the reference prints 54.414 M
    drops = [m for m in G.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 3 and all(d.p == 0.5 for d in drops)
    assert G(torch.zeros(1, 3, 256, 256)).shape == (1, 3, 256, 256)
    assert count_params(build_net("patchgan", in_channels=6, norm="batch")) == 2_768_705  # 6-channel 70×70 PatchGAN


def test_same_crop_and_flip_for_a_and_b(tmp_path):
    _aligned(tmp_path / "d" / "train", 3, same=True)
    bundle = open_data("paired", tmp_path / "d", cfg(image_size=16, load_size=20, flip=True))
    for seed in range(12):
        item = bundle.train[(seed % 3, seed)]
        data_kind("paired").check_item(item)
        assert item["A"].shape == (3, 16, 16) and torch.equal(item["A"], item["B"])  # one crop, one flip
        plain = bundle.train[(seed % 3, seed)]
        assert torch.equal(plain["A"], item["A"])  # the item's own seed: reproducible
    crops = {bundle.train[(0, s)]["A"].sum().item() for s in range(12)}
    assert len(crops) > 3  # the crops (and flips) do vary with the seed
    # the two halves are A (left) and B (right)
    _aligned(tmp_path / "e" / "train", 1, size=8)
    full = np.array(Image.open(tmp_path / "e" / "train" / "000.png"))
    item = open_data("paired", tmp_path / "e", cfg(image_size=8, load_size=0, flip=False)).train[0]
    assert np.array_equal(((item["A"].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy(), full[:, :8])
    assert np.array_equal(((item["B"].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy(), full[:, 8:])


def test_folders_a_and_b_with_matching_names_and_errors(tmp_path):
    from conftest import write_images

    write_images(tmp_path / "p" / "A", 3, seed=1)
    write_images(tmp_path / "p" / "B", 3, seed=2)
    bundle = open_data("paired", tmp_path / "p", cfg(image_size=16, load_size=18))
    assert len(bundle.train) == 3 and set(bundle.train[0]) == {"A", "B"}
    (tmp_path / "p" / "B" / "img_002.png").unlink()
    with pytest.raises(DataError, match="no B image .* for .*img_002"):
        open_data("paired", tmp_path / "p", cfg())
    with pytest.raises(DataError, match="has no paired images; expected train/"):
        open_data("paired", tmp_path, cfg())


def test_an_aligned_folder_trains_two_steps_and_d_sees_six_channels(tmp_path):
    _aligned(tmp_path / "facades" / "train", 4, size=40)
    _aligned(tmp_path / "facades" / "val", 2, size=40, seed=1)
    plan = T.plan("pix2pix", data=str(tmp_path / "facades"), name="p", runs_dir=tmp_path / "runs",
                  sets=C.parse_sets([*TINY["pix2pix"], *QUIET, "steps=2", "direction=BtoA"]))
    summary = T.run(plan)
    assert summary["steps"] == 2 and {"loss/G_L1", "loss/G_gan", "loss/D"} <= set(summary)
    model = open_model(plan.run_dir)
    assert list(model.translators) == ["BtoA"] and model.pick().meta.size_multiple == 32


def test_preflight_uses_declared_inputs_and_still_names_a_bad_image_size():
    cls = VARIANTS.get("pix2pix")
    check_sizes(cls, cfg())  # D takes 6 channels: declared by example_inputs, so it passes
    with pytest.raises(ConfigError) as err:
        check_sizes(cls, cfg(image_size=40, load_size=40))
    assert "image_size" in str(err.value) and "multiple of 32" in str(err.value) and "\n" not in str(err.value)


# --- the reference's UnetGenerator layout, re-implemented for the fixture ------------------------------
class RefBlock(nn.Module):
    """The reference UnetSkipConnectionBlock's layout (BatchNorm): down, submodule, up; x ⊕ out."""

    def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False, innermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        input_nc = input_nc or outer
        down = nn.Conv2d(input_nc, inner, 4, 2, 1, bias=False)
        if outermost:
            seq = [down, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            seq = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False),
                   nn.BatchNorm2d(outer)]
        else:
            seq = [nn.LeakyReLU(0.2, True), down, nn.BatchNorm2d(inner), sub, nn.ReLU(True),
                   nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
            seq += [nn.Dropout(0.5)] if dropout else []
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class RefUnet(nn.Module):
    def __init__(self, num_downs=8, ngf=64, in_nc=3, out_nc=3):
        super().__init__()
        block = RefBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = RefBlock(ngf * 8, ngf * 8, sub=block, dropout=True)
        block = RefBlock(ngf * 4, ngf * 8, sub=block)
        block = RefBlock(ngf * 2, ngf * 4, sub=block)
        block = RefBlock(ngf, ngf * 2, sub=block)
        self.model = RefBlock(out_nc, ngf, input_nc=in_nc, sub=block, outermost=True)

    def forward(self, x):
        return self.model(x)


@pytest.fixture
def official(tmp_path):
    torch.manual_seed(0)
    ref = RefUnet(num_downs=8, ngf=8)
    for m in ref.modules():  # trained-looking statistics, so running and per-image stats differ
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    path = tmp_path / "latest_net_G.pth"
    torch.save(ref.state_dict(), path)
    return ref.eval(), path


def test_official_unet_pth_loads_and_eval_mode_matches_the_reference(official):
    ref, path = official
    model = open_model(path, test_mode="eval")
    assert model.kind == "official" and model.spec.variant == "pix2pix"
    assert model.spec.arch == {"name": "unet", "kwargs": {"in_channels": 3, "out_channels": 3, "ngf": 8, "num_downs": 8,
                                                          "norm": "batch", "dropout": 0.5}}
    x = torch.rand(2, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        ours, theirs = model.pick().module.eval()(x), ref(x)
    assert psnr(ours, theirs).min().item() >= 50  # measured: identical (inf dB)
    # the image path (uint8 in, uint8 out) agrees too, at a size that is not a multiple of 256
    photo = np.random.default_rng(0).integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
    out = load(path, test_mode="eval")(photo)
    assert out.shape == photo.shape


def test_paper_mode_is_per_image_seeded_and_unlike_eval(official):
    ref, path = official
    G = open_model(path).pick().module.eval()  # default: the paper's test time
    x = torch.rand(3, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        batch = G(x)
        alone = torch.cat([G(x[i : i + 1]) for i in range(3)])
        again = G(x)
        assert torch.equal(batch, again)  # seeded: reruns are identical
        assert torch.allclose(batch, alone, atol=1e-5)  # independent of the batch size
        # per-image statistics = the reference in train mode at batch 1, dropout aside
        ref_train = ref.train()
        for m in ref_train.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0
        set_test_mode(G, "paper")
        for m in G.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0
        assert psnr(G(x[:1]), ref_train(x[:1])).item() >= 50
        set_test_mode(G, "eval")
        assert psnr(G(x[:1]), ref.eval()(x[:1])).item() >= 50
        assert psnr(batch[:1], G(x[:1])).item() < 40  # the two test modes do differ


@pytest.mark.slow
def test_onnx_export_in_both_modes(tmp_path):
    from translate.inference.export import export_onnx

    plan = T.plan("pix2pix", data=None, name="o", runs_dir=tmp_path / "runs",
                  sets=C.parse_sets([*TINY["pix2pix"], *QUIET, "steps=1"]))
    T.run(plan)
    results = {}
    for mode in ("paper", "eval"):
        res = export_onnx(str(plan.run_dir), tmp_path / f"{mode}.onnx", test_mode=mode, exporter="torchscript")
        assert max(res.parity.values()) < 1e-3, (mode, res.parity)
        results[mode] = open_model(tmp_path / f"{mode}.onnx")
        assert results[mode].spec.extra["test_mode"] == mode
    with pytest.raises(ConfigError, match="exported in the paper test mode: export it again with --eval"):
        open_model(tmp_path / "paper.onnx", test_mode="eval")
    photo = np.random.default_rng(1).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    torch_paper = load(plan.run_dir)(photo).astype(float)
    assert np.abs(results["paper"].pick()(photo).astype(float) - torch_paper).max() <= 1


def test_held_out_figures_are_psnr_and_ssim_named_as_translate_eval_names_them():
    from translate.metrics.image import as_saved, ssim

    c = cfg()
    variant = VARIANTS.get("pix2pix")(c)
    nets = variant.build(c)
    torch.manual_seed(0)
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        scores = variant.evaluate(nets, {"A": x, "B": y})
        out = as_saved(variant.translators(nets)["AtoB"](x))
    assert list(scores) == ["psnr_AtoB", "psnr_AtoB_baseline", "ssim_AtoB", "ssim_AtoB_baseline"]
    assert scores["ssim_AtoB"] == pytest.approx(ssim(out, y).mean().item(), abs=1e-6)  # of the outputs as saved
    assert scores["ssim_AtoB_baseline"] == pytest.approx(ssim(x, y).mean().item(), abs=1e-6)
