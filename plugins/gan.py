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

from torch import Tensor

from translate.kit.families import EVAL_SEED, NoiseConfig, NoiseVariant, device_of, generate, latents
from translate.kit.figures import GENERATIVE
from translate.metrics.generative import coverage_scores
from translate.metrics.judge import judge_of
from translate.variant import Nets, Row, register_variant


@dataclass
class GANConfig(NoiseConfig):
    """The DCGAN recipe (see translate.kit.families.NoiseConfig for every field)."""


@register_variant
class GAN(NoiseVariant):
    name = "gan"
    description = "Unconditional image GAN: non-saturating BCE, DCGAN nets (Goodfellow 2014; Radford 2015)"
    figures = GENERATIVE  # what its evaluate() reports
    config = GANConfig
    data = "noise"
    # The built-in demo (no --data): 32 px grey glyphs, narrow nets, 2,790 steps (a few minutes on 2 CPU cores).
    demo = {"image_size": 32, "load_size": 32, "channels": 1, "ngf": 32, "ndf": 16, "batch_size": 64, "epochs": 30}

    def train_step(self, nets: Nets, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        G, D, adv = nets["G"], nets["D"], self.adv
        real = batch["image"]
        fake = G(self.z(real.shape[0], real.device))

        # D: maximise log D(x) + log(1 − D(G(z)))
        loss_d = adv.d_loss(D, real, fake)
        step.update("D", loss_d)

        # G: maximise log D(G(z)) (non-saturating)
        with step.frozen(D):
            loss_g = adv.g(D(fake))
            step.update("G", loss_g)
        return {"G": loss_g, "D": loss_d}

    def sample_rows(self, nets: Nets, batch: dict[str, Tensor]) -> list[Row]:
        """Real images, then four rows from the run's fixed z (the same z at every step)."""
        real = batch["image"]
        n = real.shape[0]
        fakes = nets["G"](self.fixed.take(4 * n, real.device)).split(n)
        return [("real", real), *((f"G(z) {i + 1}", f) for i, f in enumerate(fakes))]

    def evaluate(self, nets: Nets, truth: dict[str, Any]) -> dict[str, float]:
        """Mode coverage and Fréchet distance, judged by a classifier trained on real data only."""
        classifier, real_accuracy = judge_of(truth)
        G = nets["G"]
        fake = generate(G, latents(self.cfg.eval_samples, self.cfg.z_dim, EVAL_SEED, device_of(G)))
        scores = coverage_scores(classifier, fake, truth["images"].cpu(), classifier.head.out_features)
        return {**scores, "classifier_real_accuracy": real_accuracy}
