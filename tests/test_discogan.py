"""DiscoGAN: the official networks, the loss composition, the D-every-3rd schedule, the
reconstruction curriculum, and a CLI run."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from translate.engine.step import Step
from translate.nets import build_net, count_params
from translate.plugins.discogan import DiscoGAN, DiscoGANConfig, feature_matching


def _conv_params(pairs: list[tuple[int, int]], k: int = 4) -> int:
    return sum(cin * cout * k * k for cin, cout in pairs)  # no biases


def test_networks_match_the_official_code():
    g, d = build_net("discogan_generator"), build_net("discogan_discriminator")
    enc = [(3, 64), (64, 128), (128, 256), (256, 512)]
    dec = [(512, 256), (256, 128), (128, 64), (64, 3)]
    g_bn = 2 * (128 + 256 + 512 + 256 + 128 + 64)
    assert count_params(g) == _conv_params(enc + dec) + g_bn == 5_513_856
    assert count_params(d) == _conv_params(enc[1:] + [(3, 64), (512, 1)]) + 2 * (128 + 256 + 512) == 2_765_568
    convs = [m for m in [*g.modules(), *d.modules()] if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert len(convs) == 13 and all(m.bias is None for m in convs)
    x = torch.rand(2, 3, 64, 64)
    y = g(x)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1  # Sigmoid output
    logit, feats = d(y, features=True)
    assert logit.shape == (2, 1, 1, 1) and torch.equal(d(y), logit)
    assert [tuple(f.shape) for f in feats] == [(2, 128, 16, 16), (2, 256, 8, 8), (2, 512, 4, 4)]
    with torch.no_grad():  # the features are the activations after BN + LeakyReLU(0.2)
        bn2 = d.block2[1](d.block2[0](d.block1(y)))
        assert torch.allclose(feats[0], F.leaky_relu(bn2, 0.2))


def test_defaults_are_the_paper_recipe():
    c = DiscoGANConfig()
    assert (c.batch_size, c.lr, c.beta1, c.beta2, c.weight_decay) == (64, 2e-4, 0.5, 0.999, 1e-5)
    assert (c.recon_rate_start, c.recon_rate, c.curriculum_steps, c.d_every) == (0.01, 0.5, 10_000, 3)
    assert (c.lambda_gan, c.lambda_fm, c.image_size, c.adversarial) == (0.1, 0.9, 64, "gan")
    v = DiscoGAN(c)
    opts = v.optimizers(v.build(c), c)
    for opt in opts.values():
        group = opt.param_groups[0]
        assert (group["lr"], group["betas"], group["weight_decay"]) == (2e-4, (0.5, 0.999), 1e-5)
    assert v.translator_meta("AtoB", v.build(c)["G_AB"]).in_range == (0.0, 1.0)


def _tiny():
    torch.manual_seed(0)
    cfg = DiscoGANConfig(ngf=4, ndf=4, batch_size=2, curriculum_steps=4)
    v = DiscoGAN(cfg)
    nets = v.build(cfg)
    step = Step(v.optimizers(nets, cfg), {})
    batch = {"A": torch.rand(2, 3, 64, 64) * 2 - 1, "B": torch.rand(2, 3, 64, 64) * 2 - 1}
    return v, nets, step, batch


def _params(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def _changed(before: list[torch.Tensor], net: torch.nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_generator_loss_is_the_papers_composition():
    v, nets, step, batch = _tiny()
    n = nets
    a, b = (batch["A"] + 1) / 2, (batch["B"] + 1) / 2  # the variant works in [0, 1]
    with torch.no_grad():  # reference values before the update; D in train mode as during the step
        fb, fa = n["G_AB"](a), n["G_BA"](b)
        lb, ffb = n["D_B"](fb, features=True)
        la, ffa = n["D_A"](fa, features=True)
        _, frb = n["D_B"](b, features=True)
        _, fra = n["D_A"](a, features=True)
        gan = F.binary_cross_entropy_with_logits(lb, torch.ones_like(lb)) + F.binary_cross_entropy_with_logits(la, torch.ones_like(la))
        fm = sum(((r.mean(0) - f.mean(0)) ** 2).mean() for r, f in zip(frb + fra, ffb + ffa))
        rec = F.mse_loss(n["G_BA"](fb), a) + F.mse_loss(n["G_AB"](fa), b)
    assert torch.allclose(feature_matching(frb, ffb) + feature_matching(fra, ffa), fm)
    d_before, g_before = _params(n["D_A"]), _params(n["G_AB"])
    step.index = 1  # a generator iteration, inside the curriculum: r = 0.01
    out = v.train_step(nets, batch, step)
    assert step.updated == {"G"}
    assert torch.allclose(out["G_gan"], gan, atol=1e-5) and torch.allclose(out["fm"], fm, atol=1e-6)
    assert torch.allclose(out["recon"], rec, atol=1e-6)
    assert torch.allclose(out["G"], (0.1 * gan + 0.9 * fm) * 0.99 + 0.01 * rec, atol=1e-5)
    assert _changed(g_before, n["G_AB"]) and not _changed(d_before, n["D_A"])
    assert all(p.requires_grad for p in n["D_A"].parameters())


def test_discriminator_loss_and_only_d_moves():
    v, nets, step, batch = _tiny()
    n = nets
    a, b = (batch["A"] + 1) / 2, (batch["B"] + 1) / 2
    with torch.no_grad():
        fa = n["G_BA"](b)
        real, fake = n["D_A"](a), n["D_A"](fa)
        expected = 0.5 * F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + \
            0.5 * F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    g_before, d_before = _params(n["G_BA"]), _params(n["D_A"])
    step.index = 0
    out = v.train_step(nets, batch, step)
    assert set(out) == {"D_A", "D_B"} and step.updated == {"D"}
    assert torch.allclose(out["D_A"], expected, atol=1e-5)
    assert _changed(d_before, n["D_A"]) and not _changed(g_before, n["G_BA"])


def test_update_schedule_and_curriculum():
    v, nets, step, batch = _tiny()
    kinds = []
    for i in range(6):
        step.index, step.updated = i, set()
        out = v.train_step(nets, batch, step)
        kinds.append("".join(sorted(step.updated)))
        if "G" in step.updated:
            assert abs(out["rate"].item() - (0.01 if i < 4 else 0.5)) < 1e-7
    assert kinds == ["D", "G", "G"] * 2  # D on every 3rd iteration, G on the others
    assert (v.rate(3), v.rate(4)) == (0.01, 0.5)
    assert DiscoGAN(DiscoGANConfig()).rate(9_999) == 0.01 and DiscoGAN(DiscoGANConfig()).rate(10_000) == 0.5


def test_evaluate_reports_ground_truth_psnr():
    v, nets, _, batch = _tiny()
    scores = v.evaluate(nets, batch)
    assert set(scores) == {"psnr_AtoB", "psnr_BtoA", "psnr_AtoB_baseline", "psnr_BtoA_baseline"}
    a, b = (batch["A"] + 1) / 2, (batch["B"] + 1) / 2
    mse = ((a - b) ** 2).flatten(1).mean(1)
    assert abs(scores["psnr_AtoB_baseline"] - (10 * torch.log10(1 / mse)).mean().item()) < 1e-4
    rows = v.sample_rows(nets, batch)
    assert [label for label, _ in rows] == ["real A", "A→B", "A→B→A", "real B", "B→A", "B→A→B"]
    assert all(r.shape == (2, 3, 64, 64) for _, r in rows)


def test_cli_trains_two_steps(unpaired_dir, tmp_path, cli):
    tiny = ["ngf=4", "ndf=4", "batch_size=2", "image_size=64", "load_size=64", "progress=false",
            "tensorboard=false", "num_workers=0"]
    flags = [x for s in tiny for x in ("--set", s)]
    code, out = cli("train", "discogan", "--data", str(unpaired_dir), "--name", "disco", "--runs-dir",
                    str(tmp_path / "runs"), "--steps", "2", *flags)
    assert code == 0, out
    assert "steps: 2" in out and "loss/G" in out  # step 0 updated D, step 1 updated G
    assert (tmp_path / "runs" / "disco" / "checkpoints" / "step_00000002.pt").is_file()
