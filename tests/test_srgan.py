"""SRGAN: the paper's networks, the VGG19 content loss, both phases, and the CLI
(train each phase, eval against bicubic, convert and export a tiny model)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import QUIET, TINY, flags, write_images
from PIL import Image

import translate.plugins.srgan as srgan_module
from translate.data.sr import downscale, modcrop, upscale
from translate.engine.step import Step
from translate.errors import ConfigError, WeightsError
from translate.metrics.sr import score_pair
from translate.nets import build_net, count_params
from translate.kit.perceptual import PerceptualLoss, load_vgg19, vgg19_cut, vgg19_features
from translate.plugins.srgan import SRGAN, SRGANConfig


@pytest.fixture
def no_vgg_cache(tmp_path, monkeypatch):
    """torchvision's cache is an empty folder: no VGG19 weights anywhere."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))


def standin_features() -> torch.nn.Module:
    """A small fixed feature network standing in for VGG19 in tests."""
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU())


def srresnet_params(c: int, nf: int, blocks: int, factors: list[int]) -> int:
    conv = lambda k, cin, cout: k * k * cin * cout + cout  # noqa: E731
    head = conv(9, c, nf) + 1  # + PReLU
    block = 2 * conv(3, nf, nf) + 2 * 2 * nf + 1  # two convs, two BNs, one PReLU
    ups = sum(conv(3, nf, nf * f * f) + 1 for f in factors)
    return head + blocks * block + conv(3, nf, nf) + 2 * nf + ups + conv(9, nf, c)


def test_srresnet_is_the_papers_generator():
    g = build_net("srresnet")
    assert count_params(g) == srresnet_params(3, 64, 16, [2, 2]) == 1_549_462
    out = g(torch.rand(1, 3, 24, 20))
    assert out.shape == (1, 3, 96, 80) and out.abs().max() <= 1  # ×4, Tanh
    assert sum(isinstance(m, torch.nn.PixelShuffle) for m in g.modules()) == 2
    g2 = build_net("srresnet", nf=8, n_blocks=2, scale=2)
    assert count_params(g2) == srresnet_params(3, 8, 2, [2])
    assert g2(torch.rand(2, 3, 7, 9)).shape == (2, 3, 14, 18)
    assert build_net("srresnet", nf=8, n_blocks=1, scale=3)(torch.rand(1, 3, 5, 5)).shape == (1, 3, 15, 15)
    with pytest.raises(ConfigError, match="scale 5"):
        build_net("srresnet", scale=5)


def test_discriminator_is_the_papers():
    d = build_net("srgan_discriminator")
    convs = [(3, 64, False), (64, 64, True), (64, 128, True), (128, 128, True), (128, 256, True),
             (256, 256, True), (256, 512, True), (512, 512, True)]
    expected = sum(9 * a * b + b + (2 * b if bn else 0) for a, b, bn in convs)
    expected += (512 * 6 * 6) * 1024 + 1024 + 1024 + 1  # 96 → 48 → 24 → 12 → 6; dense 1024; dense 1
    assert count_params(d) == expected == 23_565_505
    strides = [m.stride[0] for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert strides == [1, 2, 1, 2, 1, 2, 1, 2]
    small = build_net("srgan_discriminator", ndf=4, image_size=20)  # 20 → 10 → 5 → 3 → 2
    assert small(torch.rand(3, 3, 20, 20)).shape == (3, 1)


def test_vgg19_phi54_layer_and_keys():
    assert vgg19_cut("54") == 36 and vgg19_cut("relu2_2") == 9 and vgg19_cut("5,4") == 36
    f = vgg19_features("22")
    assert [type(m).__name__ for m in f] == ["Conv2d", "ReLU"] * 2 + ["MaxPool2d"] + ["Conv2d", "ReLU"] * 2
    from torchvision.models.vgg import cfgs, make_layers

    reference = make_layers(cfgs["E"])  # torchvision's VGG19 features
    assert isinstance(reference[34], torch.nn.Conv2d) and isinstance(reference[36], torch.nn.MaxPool2d)
    ref_shapes = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    ours = vgg19_features("54")
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == ref_shapes  # all 16 convs, same keys
    widths = [64, 64, 128, 128, 256, 256, 256, 256] + [512] * 8
    assert count_params(ours) == sum(9 * a * b + b for a, b in zip([3, *widths[:-1]], widths)) == 20_024_384
    with pytest.raises(ConfigError, match="φ2,3"):
        vgg19_cut("23")


def test_vgg_weights_from_file_or_cache_or_one_clear_line(tmp_path, no_vgg_cache):
    with pytest.raises(WeightsError) as err:
        load_vgg19("22")
    msg = str(err.value)
    assert "\n" not in msg and "vgg19-dcbb9e9d.pth" in msg and "vgg_weights" in msg and str(tmp_path / "hub") in msg
    with pytest.raises(WeightsError, match="does not exist"):
        load_vgg19("22", tmp_path / "nope.pth")
    src = vgg19_features("22")
    state = {f"features.{k}": v for k, v in src.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # the rest of torchvision's file is ignored
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(state, cache / "vgg19-dcbb9e9d.pth")
    loaded = load_vgg19("22")
    assert torch.equal(loaded[7].weight, src[7].weight)
    state["features.5.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="features.5.weight|'5.weight'"):
        load_vgg19("22", tmp_path / "bad.pth")


def test_perceptual_loss_normalises_rescales_and_stays_frozen():
    net = standin_features()
    loss_fn = PerceptualLoss(net, (-1.0, 1.0), rescale=1 / 12.75)
    loss_fn.train()
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    pred = (torch.rand(2, 3, 8, 8) * 2 - 1).requires_grad_(True)
    target = torch.rand(2, 3, 8, 8) * 2 - 1
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        fp = net(((pred + 1) / 2 - mean) / std) / 12.75
        ft = net(((target + 1) / 2 - mean) / std) / 12.75
    loss = loss_fn(pred, target)
    assert torch.allclose(loss, F.mse_loss(fp, ft), atol=1e-7)
    loss.backward()
    assert pred.grad is not None and all(p.grad is None for p in net.parameters())


def _tiny(phase: str = "srresnet", **kw) -> tuple[SRGAN, dict, Step, dict[str, torch.Tensor]]:
    """The variant, its nets + auxiliary modules (as the engine hands them), a Step, a batch."""
    torch.manual_seed(0)
    cfg = SRGANConfig(phase=phase, nf=8, n_blocks=1, ndf=4, image_size=16, batch_size=2, **kw)
    v = SRGAN(cfg)
    nets = {**v.build(cfg), **v.auxiliary(cfg)}
    step = Step(v.optimizers(nets, cfg), {})
    batch = {"lr": torch.rand(2, 3, 4, 4) * 2 - 1, "hr": torch.rand(2, 3, 16, 16) * 2 - 1}  # the data kind: [-1, 1]
    return v, nets, step, batch


def test_srresnet_phase_is_pixel_mse_and_needs_no_vgg(no_vgg_cache):
    v, nets, step, batch = _tiny("srresnet")
    assert set(nets) == {"G"} and v.auxiliary(v.cfg) == {}
    with torch.no_grad():
        expected = F.mse_loss(nets["G"]((batch["lr"] + 1) / 2), batch["hr"])  # data in [-1, 1], G takes [0, 1]
    out = v.train_step(nets, batch, step)
    assert set(out) == {"mse"} and step.updated == {"G"}
    assert torch.allclose(out["mse"], expected, atol=1e-6)


def test_srgan_phase_losses(monkeypatch):
    monkeypatch.setattr(srgan_module, "load_vgg19", lambda layer, weights: standin_features())
    v, nets, step, batch = _tiny("srresnet+srgan", pretrain_epochs=0)
    G, D = nets["G"], nets["D"]
    assert isinstance(nets["vgg"], PerceptualLoss)  # the frozen content loss, an auxiliary module
    with torch.no_grad():
        sr = G((batch["lr"] + 1) / 2)
        content = PerceptualLoss(standin_features(), (-1.0, 1.0), 1 / 12.75)(sr, batch["hr"])
        adv = F.binary_cross_entropy_with_logits(D(sr), torch.ones(2, 1))
    d_before = [p.clone() for p in D.parameters()]
    out = v.train_step(nets, batch, step)
    assert step.updated == {"G", "D"}
    assert torch.allclose(out["content"], content, atol=1e-6) and torch.allclose(out["adv"], adv, atol=1e-5)
    assert any(not torch.equal(a, b) for a, b in zip(d_before, D.parameters()))
    assert all(p.requires_grad for p in D.parameters())
    assert v.cfg.lambda_adv == 1e-3 and v.cfg.vgg_rescale == pytest.approx(1 / 12.75)


def test_phase_switch_and_lr_drop(monkeypatch):
    monkeypatch.setattr(srgan_module, "load_vgg19", lambda layer, weights: standin_features())
    v, nets, step, batch = _tiny("srresnet+srgan", pretrain_epochs=2, epochs=5, lr_drop_epochs=2)
    assert [v.in_gan_phase(e) for e in range(5)] == [False, False, True, True, True]
    assert [v.lr_lambda(v.cfg)(e) for e in range(5)] == [1, 1, 1, 0.1, 0.1]  # the engine applies it per epoch
    step.epoch = 1
    assert set(v.train_step(nets, batch, step)) == {"mse"}
    step.epoch = 3
    assert "content" in v.train_step(nets, batch, step)
    alone = SRGAN(SRGANConfig(phase="srresnet", epochs=5, lr_drop_epochs=2))
    assert [alone.lr_lambda(alone.cfg)(e) for e in range(5)] == [1] * 5
    gan_only = SRGAN(SRGANConfig(phase="srgan", init_from="x", epochs=5, lr_drop_epochs=2))
    assert [gan_only.lr_lambda(gan_only.cfg)(e) for e in range(5)] == [1, 1, 1, 0.1, 0.1]


def test_config_errors(no_vgg_cache):
    from translate import config as C

    with pytest.raises(ConfigError, match="phase.*srresnet\\+srgan, srresnet, srgan"):
        C.apply(SRGANConfig(), {"phase": "esrgan"})
    with pytest.raises(ConfigError, match="init_from"):
        SRGAN.validate(SRGANConfig(phase="srgan"))
    with pytest.raises(ConfigError, match="multiple of scale"):
        SRGAN.validate(SRGANConfig(image_size=90))
    cfg = SRGANConfig(nf=8, n_blocks=1, ndf=4, image_size=16)
    v = SRGAN(cfg)
    with pytest.raises(WeightsError, match="vgg19-dcbb9e9d.pth"):  # the default phase needs VGG19: said at once
        v.auxiliary(cfg)
    meta = v.translator_meta("SR", v.build(cfg)["G"])
    assert (meta.in_range, meta.out_range, meta.scale, meta.size_multiple) == ((0.0, 1.0), (-1.0, 1.0), 4, 1)


def _flags(*sets: str) -> list[str]:
    return flags(*TINY["srgan"], *QUIET, *sets)


def test_cli_both_phases_then_eval_convert_export(tmp_path, cli, no_vgg_cache):
    photos, runs = tmp_path / "photos", tmp_path / "runs"
    write_images(photos, 3, size=40)
    code, out = cli("train", "srgan", "--data", str(photos), "--name", "pre", "--runs-dir", str(runs), "--steps", "2",
                    *_flags("phase=srresnet"))
    assert code == 0, out
    assert "steps: 2" in out and "loss/mse" in out
    # phase srgan from the pre-trained run, with a real (randomly initialised) VGG19 φ2,2 weights file
    vgg = tmp_path / "vgg22.pth"
    torch.save({f"features.{k}": v for k, v in vgg19_features("22").state_dict().items()}, vgg)
    code, out = cli("train", "srgan", "--data", str(photos), "--name", "gan", "--runs-dir", str(runs), "--steps", "2",
                    *_flags("phase=srgan", f"pretrained={runs / 'pre'}", f"vgg_weights={vgg}", "vgg_layer=22"))
    assert code == 0, out
    assert "loss/content" in out and "loss/D" in out
    # the default phase: one epoch (= 1 step here) of pixel MSE, then SRGAN
    code, out = cli("train", "srgan", "--data", str(photos), "--name", "both", "--runs-dir", str(runs), "--steps", "1",
                    *_flags("epoch_size=2", "pretrain_epochs=1", f"vgg_weights={vgg}", "vgg_layer=22"))
    assert code == 0, out
    assert "loss/mse" in out and "loss/content" not in out
    code, out = cli("train", "--resume", str(runs / "both"), "--steps", "2")
    assert code == 0, out
    assert "steps: 2" in out and "loss/content" in out
    code, out = cli("train", "srgan", "--data", str(photos), "--runs-dir", str(runs), "--steps", "1",
                    *_flags("phase=srgan", f"pretrained={tmp_path / 'nowhere'}", f"vgg_weights={vgg}"))
    assert code == 1 and "nowhere" in out
    vgg.unlink()  # inference never needs the VGG

    # eval: one row per image set, JSON report, bicubic figures as computed by hand
    bench = tmp_path / "bench"
    write_images(bench / "SetA", 2, size=44, seed=5)
    write_images(bench / "SetB", 1, size=36, seed=6)
    code, out = cli("eval", str(runs / "gan"), "--data", str(bench))
    assert code == 0, out
    assert "SetA" in out and "SetB" in out and "PSNR-Y" in out
    report = json.loads((runs / "gan" / "eval.json").read_text())
    assert report["scale"] == 4 and report["crop"] == 4 and [s["name"] for s in report["sets"]] == ["SetA", "SetB"]
    first = report["sets"][0]["images"][0]
    hr = modcrop(np.asarray(Image.open(first["file"]).convert("RGB")), 4)
    assert hr.shape == (44, 44, 3)
    p, s = score_pair(upscale(downscale(hr, 4), 4), hr, 4)
    assert first["psnr_y_bicubic"] == pytest.approx(p, abs=1e-6) and first["ssim_y_bicubic"] == pytest.approx(s, abs=1e-6)
    assert np.isfinite(report["sets"][0]["psnr_y"])
    code, out = cli("eval", str(runs / "pre"), "--data", str(tmp_path / "missing"))
    assert code == 1 and "missing" in out

    # convert: 4× larger outputs; export: ONNX with a parity check
    write_images(tmp_path / "small", 2, size=10, seed=7)
    code, out = cli("convert", str(runs / "pre"), str(tmp_path / "small"), str(tmp_path / "big"), "--no-progress")
    assert code == 0, out
    with Image.open(tmp_path / "big" / "img_000.png") as img:
        assert img.size == (48, 40)  # 12×10 input
    onnx_path = tmp_path / "sr.onnx"
    code, out = cli("export", str(runs / "pre"), "--format", "onnx", "--output", str(onnx_path), "--exporter", "torchscript")
    assert code == 0, out
    assert onnx_path.is_file() and "parity" in out
