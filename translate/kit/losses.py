"""Adversarial objectives, registered by name, and small loss helpers.

An objective turns discriminator outputs (logits, no sigmoid) into the two players' losses:

    loss_d = adv.d_loss(D, real, fake)      # D's loss on real and fake inputs, its regulariser included
    loss_g = adv.g(D(fake))                 # G's loss on D's logits for its fakes

`d_loss` calls D itself, so an objective with a regulariser (WGAN-GP's gradient penalty) adds
it wherever any variant trains a discriminator: a variant cannot forget it. `weight` scales
the two adversarial terms (CycleGAN halves D's loss), not the regulariser, whose own weight is
the objective's. The terms stay available (`d_real`, `d_fake`) for variants that need them
apart. All math runs in fp32 whatever the autocast precision.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from translate.registry import Registry

Discriminator = Callable[[Tensor], Tensor]  # images -> logits (a net, or a lambda adding a condition)


class Objective:
    """Base: D minimises d_real(D(x)) + d_fake(D(G(z))) (+ penalty); G minimises g(D(G(z)))."""

    name = ""
    has_penalty = False

    def d_real(self, logits: Tensor) -> Tensor:
        raise NotImplementedError

    def d_fake(self, logits: Tensor) -> Tensor:
        raise NotImplementedError

    def g(self, logits: Tensor) -> Tensor:
        raise NotImplementedError

    def d_loss(self, D: Discriminator, real: Tensor, fake: Tensor, weight: float = 1.0) -> Tensor:
        """D's loss: `weight`·(d_real(D(real)) + d_fake(D(fake))) + the objective's regulariser.
        `fake` is detached here: the discriminator's loss never reaches the generator."""
        fake = fake.detach()
        loss = weight * (self.d_real(D(real)) + self.d_fake(D(fake)))
        return loss + self.penalty(D, real, fake)

    def penalty(self, D: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        """D's regulariser (the WGAN-GP gradient penalty); zero for the others."""
        return real.new_zeros((), dtype=torch.float32)


OBJECTIVES: Registry[type[Objective]] = Registry("adversarial objective")
register_objective = OBJECTIVES.register


def objective(name: str) -> Objective:
    """An instance of the objective registered as `name`."""
    return OBJECTIVES.get(name)()


@register_objective("gan")
class NonSaturatingGAN(Objective):
    """Goodfellow et al.: BCE-with-logits; G maximises log D(G(z)) (non-saturating)."""

    def d_real(self, logits: Tensor) -> Tensor:
        return F.softplus(-logits.float()).mean()  # -log sigmoid(x)

    def d_fake(self, logits: Tensor) -> Tensor:
        return F.softplus(logits.float()).mean()  # -log(1 - sigmoid(x))

    def g(self, logits: Tensor) -> Tensor:
        return F.softplus(-logits.float()).mean()


@register_objective("lsgan")
class LeastSquares(Objective):
    """Mao et al.: MSE to 1 for real, 0 for fake, no sigmoid."""

    def d_real(self, logits: Tensor) -> Tensor:
        return (logits.float() - 1).pow(2).mean()

    def d_fake(self, logits: Tensor) -> Tensor:
        return logits.float().pow(2).mean()

    def g(self, logits: Tensor) -> Tensor:
        return (logits.float() - 1).pow(2).mean()


@register_objective("hinge")
class Hinge(Objective):
    """Hinge loss (Lim & Ye; SAGAN): D max-margin, G maximises D(G(z))."""

    def d_real(self, logits: Tensor) -> Tensor:
        return F.relu(1 - logits.float()).mean()

    def d_fake(self, logits: Tensor) -> Tensor:
        return F.relu(1 + logits.float()).mean()

    def g(self, logits: Tensor) -> Tensor:
        return -logits.float().mean()


@register_objective("wgan-gp")
class WassersteinGP(Objective):
    """Gulrajani et al.: critic estimates W1; gradient penalty λ=10 on interpolates."""

    has_penalty = True
    gp_weight = 10.0

    def d_real(self, logits: Tensor) -> Tensor:
        return -logits.float().mean()

    def d_fake(self, logits: Tensor) -> Tensor:
        return logits.float().mean()

    def g(self, logits: Tensor) -> Tensor:
        return -logits.float().mean()

    def penalty(self, D: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        return self.gp_weight * gradient_penalty(D, real, fake)


def gradient_penalty(disc: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
    """E[(||∇D(x̂)||₂ − 1)²] with x̂ uniformly between real and fake samples."""
    real, fake = real.detach(), fake.detach()
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = disc(mixed)
    (grad,) = torch.autograd.grad(out.float().sum(), mixed, create_graph=True)
    return (grad.float().flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def l1(a: Tensor, b: Tensor) -> Tensor:
    return F.l1_loss(a.float(), b.float())


def mse(a: Tensor, b: Tensor) -> Tensor:
    return F.mse_loss(a.float(), b.float())


class Frozen(nn.Module):
    """Wraps a feature network as a frozen, eval-mode loss network (no grads to its weights)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> Frozen:  # stays in eval mode
        return self

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def patch_nce(q: Tensor, k: Tensor, tau: float = 0.07, batch: int = 1) -> Tensor:
    """PatchNCE (Park et al. 2020, Eq. 2), averaged over patches: q, k are [batch·P, C] unit
    vectors of P patches per image, q[i] the output's patch and k[i] the source's patch at the
    same place. Each query is classified among its positive k[i] and the P − 1 other patches
    of the same image (the negatives), logits scaled by 1/tau; keys are detached."""
    q, k = q.float(), k.detach().float()
    pos = (q * k).sum(1, keepdim=True)  # [batch·P, 1]
    qb, kb = q.view(batch, -1, q.shape[1]), k.view(batch, -1, k.shape[1])
    neg = torch.bmm(qb, kb.transpose(1, 2))  # [batch, P, P]: query i against every key j
    eye = torch.eye(neg.shape[1], dtype=torch.bool, device=q.device)
    neg = neg.masked_fill(eye, float("-inf")).flatten(0, 1)  # the positive is not its own negative
    logits = torch.cat([pos, neg], 1) / tau
    return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long, device=q.device))
