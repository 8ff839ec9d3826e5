"""CoGAN — Liu & Tuzel, "Coupled Generative Adversarial Networks", NIPS 2016 (arXiv 1606.07536).

Two GANs, one per domain, learn the JOINT distribution of two domains from samples of the
marginals only (no pairs): the generators share their first layers, which decode the
high-level semantics of z, and keep their last layer private; the discriminators keep
their first layer private and share the rest. One z then gives a corresponding pair
(G1(z), G2(z)). The objective is the sum of the two GAN games under those constraints:

    max_{G1,G2} min_{D1,D2}  V(D1, G1) + V(D2, G2),
    V(Di, Gi) = E_{x~p_i}[−log Di(x)] + E_z[−log(1 − Di(Gi(z)))]

with the non-saturating generator loss. Official digits nets (28×28, Sigmoid output, so
images live in [0, 1] here), z of 100 dimensions, Adam lr 2e-4, betas (0.5, 0.999), batch 64.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from translate.kit.families import EVAL_SEED, NoiseConfig, NoiseVariant, device_of, generate, latents
from translate.kit.figures import GENERATIVE
from translate.metrics.generative import coupled_scores, known_mapping
from translate.metrics.judge import judge_of
from translate.variant import Nets, Row, option, register_variant


@dataclass
class CoGANConfig(NoiseConfig):
    generator: str = option("cogan_digits_g", "coupled generator pair (shared first layers, private last)")
    discriminator: str = option("cogan_digits_d", "coupled discriminator pair (private first layer, shared rest)")
    ngf: int = option(0, "generator width: channels of the last shared layer (0 = the official 128)", min=0, max=4096)
    ndf: int = option(0, "discriminator width: channels of the private layer (0 = the official 20)", min=0, max=4096)
    eval_samples: int = option(1000, "generated pairs scored by evaluate (demo runs)", min=2)
    batch_size: int = option(64, "pairs of (unpaired) images per step (per process)", min=1)
    image_size: int = option(28, "image size (the digits nets are 28×28)", min=1, max=16384)
    load_size: int = option(28, "shorter side is resized to this, then centre-cropped, then cropped to image_size", min=1)
    channels: int = option(1, "image channels (1 = grayscale, as the digits experiments; 3 = RGB)", choices=(1, 3))


@register_variant
class CoGAN(NoiseVariant):
    name = "cogan"
    description = "Coupled GANs: a joint distribution of two domains from unpaired data (Liu & Tuzel 2016)"
    figures = GENERATIVE  # what its evaluate() reports
    config = CoGANConfig
    data = "two_folders"
    ema_nets = ()
    value_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    # The built-in demo (no --data): glyphs vs inverted glyphs at 28 px, narrower nets, 1,870 steps.
    demo = {"ngf": 16, "ndf": 10, "batch_size": 32, "epochs": 10}

    def train_step(self, nets: Nets, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        G, D, adv = nets["G"], nets["D"], self.adv
        real_1, real_2 = self.from_data(batch["A"]), self.from_data(batch["B"])  # unpaired samples of each marginal
        fake_1, fake_2 = G(self.z(real_1.shape[0], real_1.device))  # one z, two domains

        # D1, D2: tell each domain's data from its generator's samples
        loss_d1 = adv.d_loss(lambda x: D(x, domain=0), real_1, fake_1)
        loss_d2 = adv.d_loss(lambda x: D(x, domain=1), real_2, fake_2)
        step.update("D", loss_d1 + loss_d2)

        # G1, G2: fool both (non-saturating), through the shared trunk
        with step.frozen(D):
            logits_1, logits_2 = D(fake_1, fake_2)
            loss_g1, loss_g2 = adv.g(logits_1), adv.g(logits_2)
            step.update("G", loss_g1 + loss_g2)
        return {"G1": loss_g1, "G2": loss_g2, "D1": loss_d1, "D2": loss_d2}

    def translators(self, nets: Nets) -> dict[str, nn.Module]:
        """One noise translator per domain; `translate sample` feeds both the same z."""
        G = nets["G"]
        return {"A": G.branch(0), "B": G.branch(1)}

    def sample_rows(self, nets: Nets, batch: dict[str, Tensor]) -> list[Row]:
        """Real A, real B, then pairs of rows (G1(z), G2(z)) from the run's fixed z."""
        real_1, real_2 = self.from_data(batch["A"]), self.from_data(batch["B"])
        n = real_1.shape[0]
        rows: list[Row] = [("real A", real_1), ("real B", real_2)]
        for i, z in enumerate(self.fixed.take(2 * n, real_1.device).split(n)):
            g1, g2 = nets["G"](z)
            rows += [(f"G1(z{i + 1})", g1), (f"G2(z{i + 1})", g2)]
        return rows

    def evaluate(self, nets: Nets, truth: dict[str, Any]) -> dict[str, float]:
        """Pair consistency under the demo's known correspondence, paired vs unrelated pairs."""
        classifier, _ = judge_of(truth)
        G = nets["G"]
        z = latents(self.cfg.eval_samples, self.cfg.z_dim, EVAL_SEED, device_of(G))
        x1, x2 = generate(lambda w: G(w, domain=0), z), generate(lambda w: G(w, domain=1), z)
        mapping = known_mapping(truth["mapping"], self.value_range)
        return coupled_scores(classifier, x1, x2, mapping, self.value_range)
