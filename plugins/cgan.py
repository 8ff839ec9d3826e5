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

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from translate.errors import ConfigError
from translate.kit.families import EVAL_SEED, NoiseConfig, NoiseVariant, device_of, generate, latents
from translate.kit.figures import GENERATIVE
from translate.metrics.generative import label_scores
from translate.metrics.judge import judge_of
from translate.variant import Nets, Row, option, register_variant


@dataclass
class CGANConfig(NoiseConfig):
    num_classes: int = option(0, "number of classes (0 = one per class subfolder of the data)", min=0)
    conditioning: str = option("concat", "how D sees y: concat (one-hot channels, the paper) or projection",
                               choices=("concat", "projection"))


@register_variant
class CGAN(NoiseVariant):
    name = "cgan"
    description = "Class-conditional GAN: y fed to G and D (Mirza & Osindero 2014), conditional DCGAN nets"
    figures = GENERATIVE  # what its evaluate() reports
    config = CGANConfig
    data = "labelled"
    # The built-in demo (no --data): 10 classes of 32 px grey glyphs, 2,790 steps (a few minutes on 2 CPU cores).
    demo = {"image_size": 32, "load_size": 32, "channels": 1, "ngf": 16, "ndf": 16, "batch_size": 64, "epochs": 30}

    @classmethod
    def settle(cls, cfg: CGANConfig, info: Mapping[str, Any]) -> CGANConfig:
        """One class per class folder of the data (a num_classes given must agree)."""
        names = info.get("class_names") or []
        if not names:
            return cfg
        if cfg.num_classes not in (0, len(names)):
            raise ConfigError(f"the data has {len(names)} classes but num_classes={cfg.num_classes}; "
                              f"drop --set num_classes or set it to {len(names)}")
        return dataclasses.replace(cfg, num_classes=len(names))

    def build(self, cfg: CGANConfig) -> dict[str, torch.nn.Module]:
        if cfg.num_classes < 1:
            raise ConfigError("cgan needs class labels: train on a folder with one subfolder per class, or --set num_classes")
        return super().build(cfg)

    def generator_options(self, cfg: CGANConfig) -> dict[str, Any]:
        return {"num_classes": cfg.num_classes}

    def discriminator_options(self, cfg: CGANConfig) -> dict[str, Any]:
        return {"num_classes": cfg.num_classes, "conditioning": cfg.conditioning}

    def train_step(self, nets: Nets, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        G, D, adv = nets["G"], nets["D"], self.adv
        real, y = batch["image"], batch["label"]
        fake = G(self.z(real.shape[0], real.device), y)

        # D: maximise log D(x, y) + log(1 − D(G(z, y), y))
        loss_d = adv.d_loss(lambda x: D(x, y), real, fake)
        step.update("D", loss_d)

        # G: maximise log D(G(z, y), y)
        with step.frozen(D):
            loss_g = adv.g(D(fake, y))
            step.update("G", loss_g)
        return {"G": loss_g, "D": loss_d}

    def sample_rows(self, nets: Nets, batch: dict[str, Tensor]) -> list[Row]:
        """Real images, then one row per class (up to 16): the same fixed z in every row."""
        real = batch["image"]
        n = real.shape[0]
        z = self.fixed.take(n, real.device)
        rows: list[Row] = [("real", real)]
        for label in range(min(self.cfg.num_classes, 16)):
            y = torch.full((n,), label, dtype=torch.long, device=real.device)
            rows.append((f"G(z, y={label})", nets["G"](z, y)))
        return rows

    def evaluate(self, nets: Nets, truth: dict[str, Any]) -> dict[str, float]:
        """Does an independent classifier see the requested class? Per label, and overall."""
        classifier, real_accuracy = judge_of(truth)
        k, G = self.cfg.num_classes, nets["G"]
        per_class = math.ceil(self.cfg.eval_samples / k)
        labels = torch.arange(k, device=device_of(G)).repeat_interleave(per_class)
        z = latents(labels.shape[0], self.cfg.z_dim, EVAL_SEED, device_of(G))
        fake = generate(G, z, labels)
        names = truth.get("class_names") or [str(i) for i in range(k)]
        scores = label_scores(classifier, fake, labels.cpu(), truth["images"].cpu(), names)
        return {**scores, "classifier_real_accuracy": real_accuracy}
