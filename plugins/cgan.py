"""Conditional GAN — Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014
(arXiv 1411.1784), with conditional DCGAN nets for images.

Both players see the condition y (here a class label): the generator draws G(z, y), the
discriminator judges pairs D(x, y). The two-player game of the GAN becomes

    min_G max_D  E_{x,y}[log D(x, y)] + E_{z,y}[log(1 − D(G(z, y), y))]

with the non-saturating G of the GAN paper (maximise log D(G(z, y), y)), BCE-with-logits by
default (LSGAN as an option). G takes y as a learned embedding concatenated to z; D takes
it as one-hot constant channels next to the image (the paper's y-with-x), or through a
projection term (Miyato & Koyama 2018) as an option. Fakes are drawn for the labels of the
real batch, so y follows the data's class distribution.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from translate.errors import ConfigError
from translate.losses import objective
from translate.metrics.generative import cgan_scores
from translate.noise import EVAL_SEED, FixedLatents, NoiseConfig, build_noise_net, generate, latents, noise_meta
from translate.variant import Variant, option, register_variant


@dataclass
class CGANConfig(NoiseConfig):
    num_classes: int = option(0, "number of classes (0 = one per class subfolder of the data)")
    conditioning: str = option("concat", "how D sees y: concat (one-hot channels, the paper) or projection")


@register_variant
class CGAN(Variant):
    name = "cgan"
    description = "Class-conditional GAN: y fed to G and D (Mirza & Osindero 2014), conditional DCGAN nets"
    config = CGANConfig
    data = "labelled"
    ema_nets = ("G",)
    # The built-in demo (no --data): 10 classes of 32 px grey glyphs, 2,790 steps (a few minutes on 2 CPU cores).
    demo = {"image_size": 32, "load_size": 32, "channels": 1, "ngf": 16, "ndf": 16, "batch_size": 64, "epochs": 30}

    def __init__(self, cfg: CGANConfig) -> None:
        super().__init__(cfg)
        self.adv = objective(cfg.adversarial)
        self.fixed = FixedLatents(64, cfg.z_dim)

    def build(self, cfg: CGANConfig) -> dict[str, nn.Module]:
        if cfg.num_classes < 1:
            raise ConfigError("cgan needs class labels: train on a folder with one subfolder per class, or --set num_classes")
        k, size, c = cfg.num_classes, cfg.image_size, cfg.channels
        G = build_noise_net(cfg.generator, cfg.init_std, z_dim=cfg.z_dim, out_channels=c, image_size=size,
                            num_classes=k, width=cfg.ngf)
        D = build_noise_net(cfg.discriminator, cfg.init_std, in_channels=c, image_size=size, num_classes=k,
                            width=cfg.ndf, conditioning=cfg.conditioning)
        return {"G": G, "D": D}

    def optimizers(self, nets: dict[str, nn.Module], cfg: CGANConfig) -> dict[str, torch.optim.Optimizer]:
        betas = (cfg.beta1, cfg.beta2)
        return {k: torch.optim.Adam(nets[k].parameters(), cfg.lr, betas) for k in ("G", "D")}

    def train_step(self, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        G, D, adv = self.nets["G"], self.nets["D"], self.adv
        real, y = batch["image"], batch["label"]
        fake = G(latents(real.shape[0], self.cfg.z_dim, device=real.device), y)

        # D: maximise log D(x, y) + log(1 − D(G(z, y), y))
        loss_d = adv.d_loss(D(real, y), D(fake.detach(), y))
        loss_d = loss_d + adv.penalty(lambda x: D(x, y), real, fake)
        step.update("D", loss_d)

        # G: maximise log D(G(z, y), y)
        with step.frozen(D):
            loss_g = adv.g(D(fake, y))
            step.update("G", loss_g)
        return {"G": loss_g, "D": loss_d}

    def translators(self, nets: dict[str, nn.Module]) -> dict[str, nn.Module]:
        return {"G": nets["G"]}

    def translator_meta(self, name: str, net: nn.Module) -> dict[str, Any]:
        return noise_meta(self.cfg, self.cfg.num_classes, self.value_range)

    def sample_rows(self, batch: dict[str, Tensor]) -> list[Tensor]:
        """Real images, then one row per class (up to 16): the same fixed z in every row."""
        real = batch["image"]
        n = real.shape[0]
        z = self.fixed.take(n, real.device)
        rows = [real]
        for label in range(min(self.cfg.num_classes, 16)):
            rows.append(self.nets["G"](z, torch.full((n,), label, dtype=torch.long, device=real.device)))
        return rows

    def evaluate(self, gt: dict[str, Any]) -> dict[str, float]:
        """Does an independent classifier see the requested class? Per label, and overall."""
        classifier, real_accuracy = gt["classifier"]()
        k = self.cfg.num_classes
        per_class = math.ceil(self.cfg.eval_samples / k)
        labels = torch.arange(k, device=self.device).repeat_interleave(per_class)
        z = latents(labels.shape[0], self.cfg.z_dim, EVAL_SEED, self.device)
        fake = generate(self.nets["G"], z, labels)
        names = gt.get("class_names") or [str(i) for i in range(k)]
        scores = cgan_scores(classifier, fake, labels.cpu(), gt["images"].cpu(), names)
        return {**scores, "classifier_real_accuracy": real_accuracy}

    def state_dict(self) -> dict[str, Any]:
        return self.fixed.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.fixed.load_state_dict(state)
