"""CUT / FastCUT: the paper's recipe, PatchNCE against a hand computation, the NCE layers of our
ResNet, flip-equivariance, and exact resume with the heads built from the first batch."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from translate import config as C
from translate.jobs import train as T
from translate.engine.step import Step
from translate.errors import ConfigError
from translate.kit.losses import patch_nce
from translate.nets import build_net
from translate.nets.heads import PatchHeads
from translate.nets.resnet import ResnetBlock
from translate.variant import VARIANTS

from conftest import QUIET, TINY, straight_and_resumed, tiny_batch, tiny_config


def test_defaults_are_the_papers_recipe():
    from translate import discovery

    discovery.load_all()
    cut, fast = VARIANTS.get("cut").config(), VARIANTS.get("fastcut").config()
    for cfg in (cut, fast):
        assert (cfg.generator, cfg.discriminator, cfg.norm, cfg.ngf, cfg.ndf) == ("resnet_9blocks", "patchgan", "instance", 64, 64)
        assert (cfg.adversarial, cfg.lambda_gan, cfg.nce_tau, cfg.num_patches, cfg.nce_units) == ("lsgan", 1.0, 0.07, 256, 256)
        assert (cfg.lr, cfg.beta1, cfg.beta2, cfg.lr_schedule, cfg.batch_size) == (2e-4, 0.5, 0.999, "linear", 1)
        assert (cfg.load_size, cfg.image_size, cfg.flip, cfg.init, cfg.init_std) == (286, 256, True, "xavier", 0.02)
    assert (cut.lambda_nce, cut.nce_idt, cut.flip_equivariance, cut.epochs, cut.decay_epochs) == (1.0, True, False, 200, 200)
    assert (fast.lambda_nce, fast.nce_idt, fast.flip_equivariance, fast.epochs, fast.decay_epochs) == (10.0, False, True, 150, 50)
    assert not hasattr(cut, "pool_size")  # no image pool


def test_nce_layers_are_the_authors_five_encoder_layers():
    """Their 0,4,8,12,16 (anti-aliased ResNet): padded input, both downsampling convs, residual
    blocks 1 and 5 — entries 0, 4, 7, 10, 14 of ours."""
    cfg = tiny_config("cut", generator="resnet_9blocks", ngf=8)
    G = VARIANTS.get("cut")(cfg).build(cfg)["G"]
    m = G.model
    assert isinstance(m[0], nn.ReflectionPad2d)
    assert isinstance(m[4], nn.Conv2d) and m[4].stride == (2, 2) and m[4].out_channels == 16
    assert isinstance(m[7], nn.Conv2d) and m[7].stride == (2, 2) and m[7].out_channels == 32
    assert m[10] is [b for b in m if isinstance(b, ResnetBlock)][0] and m[14] is [b for b in m if isinstance(b, ResnetBlock)][4]
    x = torch.randn(1, 3, 32, 32)
    feats = G(x, layers=(0, 4, 7, 10, 14))
    assert [tuple(f.shape[1:]) for f in feats] == [(3, 38, 38), (16, 16, 16), (32, 8, 8), (32, 8, 8), (32, 8, 8)]
    assert torch.equal(feats[0], m[0](x)) and torch.equal(G(x), m(x))


def _nce_by_hand(q: list[list[float]], k: list[list[float]], tau: float) -> float:
    """-log softmax of the positive among the other patches' keys, averaged over patches."""
    total = 0.0
    for i, qi in enumerate(q):
        dots = [sum(a * b for a, b in zip(qi, kj)) / tau for kj in k]
        others = [math.exp(d) for j, d in enumerate(dots) if j != i]
        total += -math.log(math.exp(dots[i]) / (math.exp(dots[i]) + sum(others)))
    return total / len(q)


def test_patch_nce_equals_the_hand_computation():
    q = [[0.6, 0.8], [1.0, 0.0], [0.0, -1.0]]
    k = [[0.8, 0.6], [0.6, -0.8], [-0.6, -0.8]]
    got = patch_nce(torch.tensor(q), torch.tensor(k), tau=0.07)
    assert got.item() == pytest.approx(_nce_by_hand(q, k, 0.07), rel=1e-5)
    # two orthogonal patches: log(1 + e^{-1/τ})
    assert patch_nce(torch.eye(2), torch.eye(2), 0.5).item() == pytest.approx(math.log(1 + math.exp(-2)), rel=1e-6)


def test_patch_nce_takes_negatives_from_the_same_image_only():
    torch.manual_seed(0)
    q, k = nn.functional.normalize(torch.randn(2 * 5, 4), dim=1), nn.functional.normalize(torch.randn(2 * 5, 4), dim=1)
    per_image = (patch_nce(q[:5], k[:5], 0.07) + patch_nce(q[5:], k[5:], 0.07)) / 2
    assert patch_nce(q, k, 0.07, batch=2).item() == pytest.approx(per_image.item(), rel=1e-6)
    assert patch_nce(q, k, 0.07, batch=1).item() != pytest.approx(per_image.item(), rel=1e-3)
    k.requires_grad_(True)
    q.requires_grad_(True)
    patch_nce(q, k, 0.07, batch=2).backward()
    assert k.grad is None and q.grad is not None  # keys are detached


def test_patch_heads_share_positions_and_give_unit_vectors():
    heads = PatchHeads([3, 8], units=16)
    a = [torch.randn(2, 3, 6, 6), torch.randn(2, 8, 3, 3)]
    out, ids = heads(a, num_patches=20)
    assert [tuple(o.shape) for o in out] == [(40, 16), (18, 16)]  # 20 of 36 positions, all 9 of 3×3
    assert all(torch.allclose(o.norm(dim=1), torch.ones(o.shape[0]), atol=1e-5) for o in out)
    again, ids2 = heads(a, num_patches=20, ids=ids)
    assert all(torch.equal(x, y) for x, y in zip(out, again)) and ids2 is ids or all(torch.equal(x, y) for x, y in zip(ids, ids2))


def test_flip_equivariance_flips_the_outputs_features_back():
    """At layer 0 (the padded input, itself flip-equivariant) NCE(x, flip(x)) with the flip undone
    is NCE(x, x) — and is not without it."""
    cfg = tiny_config("fastcut", nce_layers="0")
    v = VARIANTS.get("fastcut")(cfg)
    nets = v.build(cfg)
    x = torch.randn(2, 3, 32, 32)
    nets.update(v.data_dependent_initialize(nets, {"A": x}))

    def nce(out, flipped):  # noqa: ANN001, ANN202
        torch.manual_seed(3)
        return v.patch_nce(nets, x, out, flipped).item()

    assert nce(x.flip(3), True) == pytest.approx(nce(x, False), rel=1e-6)
    assert nce(x.flip(3), False) != pytest.approx(nce(x, False), rel=1e-3)


@pytest.mark.parametrize("variant", ["cut", "fastcut"])
def test_one_step_updates_d_then_g_and_heads_together(variant):
    cfg = tiny_config(variant)
    v = VARIANTS.get(variant)(cfg)
    nets = v.build(cfg)
    batch = tiny_batch(variant, cfg)
    nets.update(v.data_dependent_initialize(nets, batch))
    assert [m[0].in_features for m in nets["H"].mlps] == [3, 8, 16, 16, 16]
    before = {k: [p.clone() for p in n.parameters()] for k, n in nets.items()}
    step = Step(v.optimizers(nets, cfg), {})
    out = v.train_step(nets, batch, step)
    assert step.updated == {"D", "G", "H"}
    assert ("nce_Y" in out) == (variant == "cut") and all(torch.isfinite(t) for t in out.values())
    assert out["nce"].item() > 0
    for k, n in nets.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], n.parameters())), f"{k} did not move"


def test_bad_nce_layers_are_one_line_before_any_work(tmp_path):
    for value, says in (("a,b", "not a comma-separated list"), ("0,4,40", "does not fit generator 'resnet_6blocks'")):
        with pytest.raises(ConfigError, match=f"'nce_layers'.*{says}"):
            T.plan("cut", name="bad", runs_dir=tmp_path, sets=C.parse_sets([*TINY["cut"], f"nce_layers={value}"]))


@pytest.mark.slow
def test_resume_is_bit_identical_with_the_first_batch_heads(unpaired_dir, tmp_path):
    sets = [*TINY["cut"], *QUIET, "epochs=1", "decay_epochs=1"]

    def plan(name, steps, resume):  # noqa: ANN001, ANN202
        if resume is not None:
            return T.plan(resume=str(resume), sets=C.parse_sets([f"steps={steps}"]))
        return T.plan("cut", data=str(unpaired_dir), name=name, runs_dir=tmp_path / "runs",
                      sets=C.parse_sets([*sets, f"steps={steps}"]))

    a, b = straight_and_resumed(plan, total=4, split=2)  # crosses an epoch: schedules stepped too
    assert set(a["nets"]) == {"G", "D", "H"} and set(a["optimizers"]) == {"G", "D", "H"}
    assert a["optimizers"]["H"]["state"] and len(a["optimizers"]["H"]["state"]) == len(list(
        PatchHeads([3, 8, 16, 16, 16], 8).parameters()))
    assert a["schedulers"]["H"] == b["schedulers"]["H"]


@pytest.mark.parametrize("variant", ["cut", "fastcut"])
def test_demo_preset_is_cyclegans_small_nets_for_300_steps(variant, tmp_path):
    plan = T.plan(variant, name="d", runs_dir=tmp_path)  # no data: the demo
    m = plan.model
    assert (m.generator, m.ngf, m.ndf, m.image_size, m.batch_size) == ("resnet_6blocks", 16, 16, 32, 4)
    assert (m.epochs, m.decay_epochs, m.num_patches) == (4, 2, 64)
    assert (m.lambda_nce, m.nce_idt) == ((1.0, True) if variant == "cut" else (10.0, False))
