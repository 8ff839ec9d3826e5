"""DiscoGAN — Kim, Cha, Kim, Lee & Kim, "Learning to Discover Cross-Domain Relations with
Generative Adversarial Networks", ICML 2017 (arXiv 1703.05192); official code SKTBrain/DiscoGAN.

Two generators G_AB: A→B and G_BA: B→A, two discriminators D_A and D_B, trained on truly
unpaired images. Per direction (A→B→A shown; B→A→B is symmetric), the generators minimise

    L_A = (0.1·L_GAN(G_AB, D_B) + 0.9·L_FM(G_AB, D_B))·(1 − r) + r·MSE(G_BA(G_AB(a)), a)

where L_GAN is the non-saturating BCE loss, L_FM the feature-matching loss (squared
difference of the batch-mean D_B features of real and generated images, averaged over the
feature map and summed over D's three BatchNorm layers) and r the reconstruction rate:
0.01 for the first 10,000 iterations (the "GAN curriculum"), 0.5 afterwards.
Each discriminator minimises 0.5·BCE(real, 1) + 0.5·BCE(fake, 0).

Updates alternate: every 3rd iteration (0, 3, 6, ...) steps the discriminators, the other
iterations step the generators. Images live in [0, 1] (Sigmoid output).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from translate.kit.families import TwoDomainConfig, TwoDomainVariant
from translate.kit.losses import mse
from translate.variant import Nets, option, register_variant


@dataclass
class DiscoGANConfig(TwoDomainConfig):
    generator: str = option("discogan_generator", "generator architecture (64×64 encoder–decoder, Sigmoid output)")
    discriminator: str = option("discogan_discriminator", "discriminator architecture (returns logit + features)")
    adversarial: str = option("gan", "adversarial objective (gan = BCE, the paper's)")
    lambda_gan: float = option(0.1, "weight of the GAN loss inside the adversarial term", min=0)
    lambda_fm: float = option(0.9, "weight of the feature-matching loss inside the adversarial term", min=0)
    recon_rate_start: float = option(0.01, "reconstruction rate r during the GAN curriculum", min=0, max=1)
    recon_rate: float = option(0.5, "reconstruction rate r after the curriculum", min=0, max=1)
    curriculum_steps: int = option(10_000, "iterations of the GAN curriculum (rate recon_rate_start)", min=0)
    d_every: int = option(3, "the discriminators update on every d_every-th iteration, the generators on the others",
                          min=2)
    weight_decay: float = option(1e-5, "Adam weight decay (G and D)", min=0)
    batch_size: int = option(64, "images per step (per process)", min=1)
    lr_schedule: str = option("constant", "constant (the official code) or linear", choices=("linear", "constant"))
    epochs: int = option(5000, "epochs (the official code's epoch_size; use --steps for shorter runs)", min=0)
    image_size: int = option(64, "training size (64 for every experiment in the paper)", min=1, max=16384)
    load_size: int = option(64, "images are resized to this before the (here trivial) crop", min=1, max=16384)
    flip: bool = option(False, "random horizontal flips (the official code has none)")


def feature_matching(real: list[Tensor], fake: list[Tensor]) -> Tensor:
    """Σ_layers mean((E_batch[f_real] − E_batch[f_fake])²), in fp32."""
    total = real[0].new_zeros((), dtype=torch.float32)
    for r, f in zip(real, fake):
        total = total + (r.float().mean(0) - f.float().mean(0)).pow(2).mean()
    return total


@register_variant
class DiscoGAN(TwoDomainVariant):
    name = "discogan"
    description = "Unpaired translation with reconstruction + feature matching (Kim et al. 2017)"
    config = DiscoGANConfig
    value_range = (0.0, 1.0)
    # The built-in demo (no --data): apples→oranges at 64 px, narrower nets, a short curriculum
    # (960 iterations, about 2.5 CPU-minutes; measured ground-truth PSNR A→B 12.7 / B→A 15.7 dB
    # against 9.5 dB for leaving the image unchanged).
    demo = {
        "ngf": 16, "ndf": 16, "batch_size": 16, "image_size": 64, "load_size": 64, "flip": True,
        "epochs": 80, "curriculum_steps": 480,
    }

    def is_d_iteration(self, index: int) -> bool:
        """Iterations 0, d_every, 2·d_every, ... update the discriminators."""
        return index % self.cfg.d_every == 0

    def rate(self, index: int) -> float:
        """Reconstruction rate r at iteration `index` (the GAN curriculum)."""
        cfg = self.cfg
        return cfg.recon_rate_start if index < cfg.curriculum_steps else cfg.recon_rate

    def train_step(self, nets: Nets, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        a, b = self.from_data(batch["A"]), self.from_data(batch["B"])
        if self.is_d_iteration(step.index):
            return self._update_d(nets, a, b, step)
        return self._update_g(nets, a, b, step)

    def _update_d(self, nets: Nets, a: Tensor, b: Tensor, step: Any) -> dict[str, Tensor]:
        """D_A, D_B: real vs. generated, each term weighted 0.5."""
        with torch.no_grad():
            fake_B, fake_A = nets["G_AB"](a), nets["G_BA"](b)
        loss_D_A = self.adv.d_loss(nets["D_A"], a, fake_A, weight=0.5)
        loss_D_B = self.adv.d_loss(nets["D_B"], b, fake_B, weight=0.5)
        step.update("D", loss_D_A + loss_D_B)
        return {"D_A": loss_D_A, "D_B": loss_D_B}

    def _update_g(self, nets: Nets, a: Tensor, b: Tensor, step: Any) -> dict[str, Tensor]:
        """G_AB, G_BA: fool the other domain's D, match its features, reconstruct the input."""
        cfg, adv, r = self.cfg, self.adv, self.rate(step.index)
        G_AB, G_BA, D_A, D_B = nets["G_AB"], nets["G_BA"], nets["D_A"], nets["D_B"]
        with step.frozen(D_A, D_B):
            fake_B, fake_A = G_AB(a), G_BA(b)
            recon_A, recon_B = mse(G_BA(fake_B), a), mse(G_AB(fake_A), b)
            logit_fake_B, feats_fake_B = D_B(fake_B, features=True)
            logit_fake_A, feats_fake_A = D_A(fake_A, features=True)
            _, feats_real_B = D_B(b, features=True)
            _, feats_real_A = D_A(a, features=True)
            gan_B, gan_A = adv.g(logit_fake_B), adv.g(logit_fake_A)
            fm_B, fm_A = feature_matching(feats_real_B, feats_fake_B), feature_matching(feats_real_A, feats_fake_A)
            total_A = (cfg.lambda_gan * gan_B + cfg.lambda_fm * fm_B) * (1 - r) + r * recon_A  # A → B → A
            total_B = (cfg.lambda_gan * gan_A + cfg.lambda_fm * fm_A) * (1 - r) + r * recon_B  # B → A → B
            step.update("G", total_A + total_B)
        return {
            "G": total_A + total_B, "G_gan": gan_A + gan_B, "fm": fm_A + fm_B,
            "recon": recon_A + recon_B, "rate": torch.tensor(r),
        }
