"""The CycleGAN variant: recipe defaults, image pool, loss composition, CLI train + resume."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from translate.engine.step import Step
from translate.jobs import train as T
from translate.kit.history import ImagePool
from translate.plugins.cyclegan import CycleGAN, CycleGANConfig


def test_defaults_are_the_paper_recipe():
    c = CycleGANConfig()
    assert (c.generator, c.discriminator, c.adversarial) == ("resnet_9blocks", "patchgan", "lsgan")
    assert (c.lambda_cycle, c.lambda_identity, c.pool_size) == (10.0, 0.5, 50)
    assert (c.lr, c.beta1, c.beta2, c.batch_size) == (2e-4, 0.5, 0.999, 1)
    assert (c.epochs, c.decay_epochs, c.load_size, c.image_size, c.init_std) == (100, 100, 286, 256, 0.02)


def test_demo_preset_is_batches_of_8_through_3_block_nets(tmp_path):
    plan = T.plan("cyclegan", name="d", runs_dir=tmp_path)  # no data: the demo
    m = plan.model
    assert (m.generator, m.ngf, m.ndf, m.image_size, m.load_size) == ("resnet_3blocks", 8, 8, 32, 36)
    assert (m.batch_size, m.epochs, m.decay_epochs, m.lr) == (8, 8, 8, 6e-4)
    assert (m.lambda_cycle, m.lambda_identity, m.pool_size) == (10.0, 0.5, 50)  # the loss is the paper's


def test_image_pool_fills_then_swaps_half_the_time():
    torch.manual_seed(0)
    pool = ImagePool(3)
    imgs = [torch.full((1, 1, 2, 2), float(i)) for i in range(200)]
    for i in range(3):  # the first `size` images are stored and returned as they are
        assert torch.equal(pool.query(imgs[i]), imgs[i])
    returned_old = sum(not torch.equal(pool.query(im), im) for im in imgs[3:])
    assert 70 < returned_old < 130  # p = 0.5 of returning a stored image
    assert len(pool.images) == 3
    assert torch.equal(ImagePool(0).query(imgs[5]), imgs[5])


def test_train_step_losses_equal_the_textbook_formula():
    torch.manual_seed(0)
    cfg = CycleGANConfig(generator="resnet", ngf=4, ndf=4, pool_size=0)
    v = CycleGAN(cfg)
    nets = v.build(cfg)
    a, b = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():  # reference values before any update
        fb, fa = nets["G_AB"](a), nets["G_BA"](b)
        gan = ((nets["D_B"](fb) - 1) ** 2).mean() + ((nets["D_A"](fa) - 1) ** 2).mean()
        cyc = 10 * (F.l1_loss(nets["G_BA"](fb), a) + F.l1_loss(nets["G_AB"](fa), b))
        idt = 5 * (F.l1_loss(nets["G_AB"](b), b) + F.l1_loss(nets["G_BA"](a), a))
        d_a = 0.5 * (((nets["D_A"](a) - 1) ** 2).mean() + (nets["D_A"](fa) ** 2).mean())
        d_b = 0.5 * (((nets["D_B"](b) - 1) ** 2).mean() + (nets["D_B"](fb) ** 2).mean())
    opts = v.optimizers(nets, cfg)
    d_before = [p.clone() for p in nets["D_A"].parameters()]
    out = v.train_step(nets, {"A": a, "B": b}, Step(opts, {}))
    assert torch.allclose(out["G_gan"], gan, atol=1e-5)
    assert torch.allclose(out["cycle"], cyc, atol=1e-5)
    assert torch.allclose(out["idt"], idt, atol=1e-5)
    assert torch.allclose(out["D_A"], d_a, atol=1e-5) and torch.allclose(out["D_B"], d_b, atol=1e-5)
    # D was frozen during the G update and then stepped by its own optimizer
    assert all(p.requires_grad for p in nets["D_A"].parameters())
    assert any(not torch.equal(p, q) for p, q in zip(d_before, nets["D_A"].parameters()))


def test_train_step_is_the_textbook_one_call_per_term():
    """Each generator runs translation, reconstruction and identity as separate calls (3), each
    discriminator real, pooled fake and G's fake (3), with instance or batch norm alike: the fused
    batched path measured 1.007× on CPU (benchmarks/train_step.py) and was removed."""
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    for norm in ("instance", "batch"):
        cfg = CycleGANConfig(generator="resnet_6blocks", ngf=4, ndf=4, pool_size=0, norm=norm)
        v = CycleGAN(cfg)
        nets = v.build(cfg)
        calls = {k: 0 for k in nets}
        for key, net in nets.items():
            net.register_forward_hook(lambda *_, key=key: calls.__setitem__(key, calls[key] + 1))
        out = v.train_step(nets, {"A": a, "B": b}, Step(v.optimizers(nets, cfg), {}))
        assert calls == {"G_AB": 3, "G_BA": 3, "D_A": 3, "D_B": 3}, norm
        assert all(torch.isfinite(t) for t in out.values())


def test_cli_trains_two_steps_and_resumes(unpaired_dir, tmp_path, cli):
    from conftest import TINY_CYCLEGAN

    runs = tmp_path / "runs"
    flags = [x for s in [*TINY_CYCLEGAN, "num_workers=0"] for x in ("--set", s)]
    code, out = cli("train", "cyclegan", "--data", str(unpaired_dir), "--name", "h2z", "--runs-dir", str(runs),
                    "--steps", "2", *flags)
    assert code == 0, out
    assert "steps: 2" in out and (runs / "h2z" / "checkpoints" / "step_00000002.pt").is_file()
    code, out = cli("train", "--resume", str(runs / "h2z"), "--steps", "4")
    assert code == 0, out
    assert "steps: 4" in out and (runs / "h2z" / "checkpoints" / "step_00000004.pt").is_file()
    code, out = cli("train", "cyclegan", "--data", str(tmp_path / "missing"))
    assert code == 1 and "missing" in out  # a data error: exit 1 (usage errors: 2)


def _plan(data, tmp_path, name, steps, resume=None):
    from conftest import TINY_CYCLEGAN, plan_run

    sets = [*TINY_CYCLEGAN, "epochs=1", "decay_epochs=2", "num_workers=0", "sample_every=2", "log_every=1", f"steps={steps}"]
    return plan_run("cyclegan", data, tmp_path / "runs", name, sets, resume)


def test_resume_is_bit_identical_pool_included(unpaired_dir, tmp_path):
    from conftest import straight_and_resumed

    a, b = straight_and_resumed(lambda name, steps, resume: _plan(unpaired_dir, tmp_path, name, steps, resume))
    assert a["progress"] == {"step": 6, "epoch": 2, "batch_in_epoch": 2}
    assert a["schedulers"]["G"]["last_epoch"] == b["schedulers"]["G"]["last_epoch"] == 2
    pa, pb = a["variant_state"]["pool_A"], b["variant_state"]["pool_A"]
    assert len(pa) == len(pb) == 3 and all(torch.equal(x, y) for x, y in zip(pa, pb))
