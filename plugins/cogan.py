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

import torch
from torch import Tensor, nn

from translate.losses import objective
from translate.metrics.generative import cogan_scores, known_mapping
from translate.noise import EVAL_SEED, FixedLatents, build_noise_net, generate, latents, noise_meta
from translate.variant import Variant, VariantConfig, option, register_variant


@dataclass
class CoGANConfig(VariantConfig):
    generator: str = option("cogan_digits_g", "coupled generator pair (shared first layers, private last)")
    discriminator: str = option("cogan_digits_d", "coupled discriminator pair (private first layer, shared rest)")
    z_dim: int = option(100, "dimension of the noise z ~ N(0, I)")
    ngf: int = option(0, "generator width: channels of the last shared layer (0 = the official 128)")
    ndf: int = option(0, "discriminator width: channels of the private layer (0 = the official 20)")
    adversarial: str = option("gan", "adversarial objective: gan (BCE, non-saturating G), lsgan, hinge, wgan-gp")
    init_std: float = option(0.02, "std of the N(0, std) weight initialisation")
    eval_samples: int = option(1000, "generated pairs scored by evaluate (demo runs)")
    batch_size: int = option(64, "pairs of (unpaired) images per step (per process)")
    lr: float = option(2e-4, "Adam learning rate")
    beta1: float = option(0.5, "Adam beta1")
    beta2: float = option(0.999, "Adam beta2")
    epochs: int = option(25, "epochs")
    image_size: int = option(28, "image size (the digits nets are 28×28)")
    load_size: int = option(28, "shorter side is resized to this, then centre-cropped, then cropped to image_size")
    channels: int = option(1, "image channels (1 = grayscale, as the digits experiments; 3 = RGB)")
    flip: bool = option(False, "random horizontal flips (off: the paper trains without augmentation)")


def to_unit(x: Tensor) -> Tensor:
    """Data arrive in [-1, 1]; the Sigmoid generators live in [0, 1]."""
    return (x + 1) / 2


@register_variant
class CoGAN(Variant):
    name = "cogan"
    description = "Coupled GANs: a joint distribution of two domains from unpaired data (Liu & Tuzel 2016)"
    config = CoGANConfig
    data = "two_folders"
    value_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    # The built-in demo (no --data): glyphs vs inverted glyphs at 28 px, narrower nets, 1,870 steps.
    demo = {"ngf": 16, "ndf": 10, "batch_size": 32, "epochs": 10}

    def __init__(self, cfg: CoGANConfig) -> None:
        super().__init__(cfg)
        self.adv = objective(cfg.adversarial)
        self.fixed = FixedLatents(64, cfg.z_dim)

    def build(self, cfg: CoGANConfig) -> dict[str, nn.Module]:
        size, c = cfg.image_size, cfg.channels
        G = build_noise_net(cfg.generator, cfg.init_std, z_dim=cfg.z_dim, out_channels=c, image_size=size, width=cfg.ngf)
        D = build_noise_net(cfg.discriminator, cfg.init_std, in_channels=c, image_size=size, width=cfg.ndf)
        return {"G": G, "D": D}  # each holds both domains; the sharing lives inside them

    def optimizers(self, nets: dict[str, nn.Module], cfg: CoGANConfig) -> dict[str, torch.optim.Optimizer]:
        betas = (cfg.beta1, cfg.beta2)
        return {k: torch.optim.Adam(nets[k].parameters(), cfg.lr, betas) for k in ("G", "D")}

    def train_step(self, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        G, D, adv = self.nets["G"], self.nets["D"], self.adv
        real_1, real_2 = to_unit(batch["A"]), to_unit(batch["B"])  # unpaired samples of each marginal
        fake_1, fake_2 = G(latents(real_1.shape[0], self.cfg.z_dim, device=real_1.device))  # one z, two domains

        # D1, D2: tell each domain's data from its generator's samples
        real_logits, fake_logits = D(real_1, real_2), D(fake_1.detach(), fake_2.detach())
        loss_d1 = adv.d_loss(real_logits[0], fake_logits[0]) + adv.penalty(lambda x: D(x, domain=0), real_1, fake_1)
        loss_d2 = adv.d_loss(real_logits[1], fake_logits[1]) + adv.penalty(lambda x: D(x, domain=1), real_2, fake_2)
        step.update("D", loss_d1 + loss_d2)

        # G1, G2: fool both (non-saturating), through the shared trunk
        with step.frozen(D):
            logits_1, logits_2 = D(fake_1, fake_2)
            loss_g1, loss_g2 = adv.g(logits_1), adv.g(logits_2)
            step.update("G", loss_g1 + loss_g2)
        return {"G1": loss_g1, "G2": loss_g2, "D1": loss_d1, "D2": loss_d2}

    def translators(self, nets: dict[str, nn.Module]) -> dict[str, nn.Module]:
        """One noise translator per domain; `translate sample` feeds both the same z."""
        G = nets["G"]
        return {"A": G.branch(0), "B": G.branch(1)}

    def translator_meta(self, name: str, net: nn.Module) -> dict[str, Any]:
        return noise_meta(self.cfg, 0, self.value_range)

    def sample_rows(self, batch: dict[str, Tensor]) -> list[Tensor]:
        """Real A, real B, then pairs of rows (G1(z), G2(z)) from the run's fixed z."""
        real_1, real_2 = to_unit(batch["A"]), to_unit(batch["B"])
        n = real_1.shape[0]
        rows = [real_1, real_2]
        for z in self.fixed.take(2 * n, real_1.device).split(n):
            rows += list(self.nets["G"](z))
        return rows

    def evaluate(self, gt: dict[str, Any]) -> dict[str, float]:
        """Pair consistency under the demo's known correspondence, paired vs unrelated pairs."""
        classifier, _ = gt["classifier"]()
        z = latents(self.cfg.eval_samples, self.cfg.z_dim, EVAL_SEED, self.device)
        G = self.nets["G"]
        x1, x2 = generate(lambda w: G(w, domain=0), z), generate(lambda w: G(w, domain=1), z)
        mapping = known_mapping(gt["mapping"], self.value_range)
        return cogan_scores(classifier, x1, x2, mapping, self.value_range)

    def state_dict(self) -> dict[str, Any]:
        return self.fixed.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.fixed.load_state_dict(state)
