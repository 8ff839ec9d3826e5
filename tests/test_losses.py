"""Each adversarial objective's value on hand-computed inputs."""
import math

import pytest
import torch

from translate.kit.losses import OBJECTIVES, gradient_penalty, objective

x = torch.tensor([0.0, 2.0])  # logits


def test_registered_names():
    assert {"gan", "lsgan", "hinge", "wgan-gp"} <= set(OBJECTIVES.names())


def test_gan_bce_with_logits_non_saturating():
    gan = objective("gan")
    # -log sigmoid(0) = log 2; -log sigmoid(2) = log(1 + e^-2)
    real = (math.log(2) + math.log(1 + math.exp(-2))) / 2
    fake = (math.log(2) + math.log(1 + math.exp(2))) / 2  # -log(1 - sigmoid(x))
    assert gan.d_real(x).item() == pytest.approx(real, rel=1e-6)
    assert gan.d_fake(x).item() == pytest.approx(fake, rel=1e-6)
    assert gan.g(x).item() == pytest.approx(real, rel=1e-6)  # maximise log D(G(z))
    assert gan.d_loss(lambda t: t, x, x).item() == pytest.approx(real + fake, rel=1e-6)  # D = identity on logits


def test_lsgan():
    ls = objective("lsgan")
    assert ls.d_real(x).item() == pytest.approx((1 + 1) / 2)  # (0-1)^2, (2-1)^2
    assert ls.d_fake(x).item() == pytest.approx((0 + 4) / 2)
    assert ls.g(x).item() == pytest.approx(1.0)


def test_hinge():
    h = objective("hinge")
    assert h.d_real(x).item() == pytest.approx((1 + 0) / 2)  # relu(1-0), relu(1-2)
    assert h.d_fake(x).item() == pytest.approx((1 + 3) / 2)  # relu(1+0), relu(1+2)
    assert h.g(x).item() == pytest.approx(-1.0)


def test_wgan_gp_terms_and_penalty():
    w = objective("wgan-gp")
    assert w.d_real(x).item() == pytest.approx(-1.0)
    assert w.d_fake(x).item() == pytest.approx(1.0)
    assert w.g(x).item() == pytest.approx(-1.0)
    # D(x) = sum(3 * x) has gradient 3 everywhere: per-sample norm 3*sqrt(d), penalty (3*sqrt(4) - 1)^2 = 25
    real, fake = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)

    def disc(t):
        return 3 * t.flatten(1).sum(1)

    assert gradient_penalty(disc, real, fake).item() == pytest.approx(25.0)
    assert w.penalty(disc, real, fake).item() == pytest.approx(250.0)  # λ = 10
    assert objective("lsgan").penalty(disc, real, fake).item() == 0.0


def test_losses_are_fp32_under_bf16_inputs():
    ls = objective("lsgan")
    assert ls.g(x.bfloat16()).dtype == torch.float32
