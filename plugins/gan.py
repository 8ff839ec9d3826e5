"""Vanilla GAN — Goodfellow et al., "Generative Adversarial Nets", NIPS 2014 (arXiv 1406.2661),
with the DCGAN architecture of Radford, Metz & Chintala 2015 (arXiv 1511.06434) for images.

A generator G maps noise z ~ p(z) to images; a discriminator D tells them from data:

    min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))]

D ascends this value; G uses the non-saturating form of Sec. 3 — maximise log D(G(z)) —
which gives strong gradients early in training. Both are BCE-with-logits (the "gan"
objective). One step = one D update (k = 1, as in the paper's experiments) then one G update.
Recipe (DCGAN): Adam lr 2e-4, β1 0.5, batch 128, z of 100 dimensions, N(0, 0.02) weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from translate.losses import objective
from translate.metrics.generative import gan_scores
from translate.noise import EVAL_SEED, FixedLatents, NoiseConfig, build_noise_net, generate, latents, noise_meta
from translate.variant import Variant, register_variant


@dataclass
class GANConfig(NoiseConfig):
    """The DCGAN recipe (see translate.noise.NoiseConfig for every field)."""


@register_variant
class GAN(Variant):
    name = "gan"
    description = "Unconditional image GAN: non-saturating BCE, DCGAN nets (Goodfellow 2014; Radford 2015)"
    config = GANConfig
    data = "single"
    ema_nets = ("G",)
    # The built-in demo (no --data): 32 px grey glyphs, narrow nets, 2,790 steps (a few minutes on 2 CPU cores).
    demo = {"image_size": 32, "load_size": 32, "channels": 1, "ngf": 32, "ndf": 16, "batch_size": 64, "epochs": 30}

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__(cfg)
        self.adv = objective(cfg.adversarial)
        self.fixed = FixedLatents(64, cfg.z_dim)

    def build(self, cfg: GANConfig) -> dict[str, nn.Module]:
        size, c = cfg.image_size, cfg.channels
        G = build_noise_net(cfg.generator, cfg.init_std, z_dim=cfg.z_dim, out_channels=c, image_size=size, width=cfg.ngf)
        D = build_noise_net(cfg.discriminator, cfg.init_std, in_channels=c, image_size=size, width=cfg.ndf)
        return {"G": G, "D": D}

    def optimizers(self, nets: dict[str, nn.Module], cfg: GANConfig) -> dict[str, torch.optim.Optimizer]:
        betas = (cfg.beta1, cfg.beta2)
        return {k: torch.optim.Adam(nets[k].parameters(), cfg.lr, betas) for k in ("G", "D")}

    def train_step(self, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        G, D, adv = self.nets["G"], self.nets["D"], self.adv
        real = batch["image"]
        fake = G(latents(real.shape[0], self.cfg.z_dim, device=real.device))

        # D: maximise log D(x) + log(1 − D(G(z)))
        loss_d = adv.d_loss(D(real), D(fake.detach())) + adv.penalty(D, real, fake)
        step.update("D", loss_d)

        # G: maximise log D(G(z)) (non-saturating)
        with step.frozen(D):
            loss_g = adv.g(D(fake))
            step.update("G", loss_g)
        return {"G": loss_g, "D": loss_d}

    def translators(self, nets: dict[str, nn.Module]) -> dict[str, nn.Module]:
        return {"G": nets["G"]}

    def translator_meta(self, name: str, net: nn.Module) -> dict[str, Any]:
        return noise_meta(self.cfg, 0, self.value_range)

    def sample_rows(self, batch: dict[str, Tensor]) -> list[Tensor]:
        """Real images, then four rows from the run's fixed z (the same z at every step)."""
        real = batch["image"]
        n = real.shape[0]
        z = self.fixed.take(4 * n, real.device)
        return [real, *self.nets["G"](z).split(n)]

    def evaluate(self, gt: dict[str, Any]) -> dict[str, float]:
        """Mode coverage and Fréchet distance, judged by a classifier trained on real data only."""
        classifier, real_accuracy = gt["classifier"]()
        fake = generate(self.nets["G"], latents(self.cfg.eval_samples, self.cfg.z_dim, EVAL_SEED, self.device))
        scores = gan_scores(classifier, fake, gt["images"].cpu(), classifier.head.out_features)
        return {**scores, "classifier_real_accuracy": real_accuracy}

    def state_dict(self) -> dict[str, Any]:
        return self.fixed.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.fixed.load_state_dict(state)
