"""CycleGAN — Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017 (arXiv 1703.10593).

Two generators G_AB: A→B and G_BA: B→A, two discriminators D_A (judges domain A) and
D_B (judges domain B). The full objective (Eq. 3 of the paper, plus the identity loss of
Sec. 5.2):

    L = L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A) + λ·L_cyc + λ·λ_idt·L_identity

with least-squares GAN losses, λ = 10, λ_idt = 0.5, and discriminators updated from a
history of the last 50 generated images, their loss halved.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from translate.kit.families import TwoDomainConfig, TwoDomainVariant
from translate.kit.history import ImagePool
from translate.inference.formats import WeightFormat, register_weight_format
from translate.kit.losses import l1
from translate.nets import build_net
from translate.variant import Nets, option, register_variant
from translate.weights import LEGACY_NORM_BUFFERS, load_into


@dataclass
class CycleGANConfig(TwoDomainConfig):
    generator: str = option("resnet_9blocks", "generator architecture (resnet_9blocks for 256², resnet_6blocks for 128², resnet_3blocks for 32²)")
    discriminator: str = option("patchgan", "discriminator architecture (70×70 PatchGAN)")
    norm: str = option("instance", "normalisation in G and D: instance, batch or none", choices=("instance", "batch", "none"))
    lambda_cycle: float = option(10.0, "weight λ of the cycle-consistency L1 loss (each direction)", min=0)
    lambda_identity: float = option(0.5, "identity loss weight, as a fraction of λ (0 = off)", min=0)
    pool_size: int = option(50, "generated images kept for the discriminator update (0 = no pool)", min=0)
    epochs: int = option(100, "epochs at the initial learning rate", min=0)
    decay_epochs: int = option(100, "epochs of linear decay of the learning rate to 0", min=0)
    load_size: int = option(286, "images are resized (bicubic) to this before the random crop", min=1, max=16384)


@register_variant
class CycleGAN(TwoDomainVariant):
    name = "cyclegan"
    description = "Unpaired translation with cycle consistency (Zhu et al. 2017)"
    config = CycleGANConfig
    # The built-in demo (no --data): 32 px apples→oranges, 8-channel nets, under 3 minutes on 2 CPU
    # cores without AVX-512. Nets this small are bound by per-op overhead, not arithmetic: a batch of
    # 8 costs 1.3× a batch of 4, and 3 residual blocks 0.8× 6. 400 steps of 8 (16 epochs of the 200
    # scenes) at 3× the paper's learning rate reach +10.3..10.9 dB over identity on A→B (README).
    demo = {
        "generator": "resnet_3blocks", "ngf": 8, "ndf": 8, "image_size": 32, "load_size": 36,
        "batch_size": 8, "epochs": 8, "decay_epochs": 8, "pool_size": 50, "lr": 6e-4,
    }

    def __init__(self, cfg: CycleGANConfig) -> None:
        super().__init__(cfg)
        self.pool_A, self.pool_B = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)

    def net_options(self, cfg: CycleGANConfig) -> dict[str, Any]:
        return {"norm": cfg.norm}

    def train_step(self, nets: Nets, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        cfg, adv = self.cfg, self.adv
        G_AB, G_BA, D_A, D_B = nets["G_AB"], nets["G_BA"], nets["D_A"], nets["D_B"]
        real_A, real_B = batch["A"], batch["B"]

        # Generators: fool both discriminators, and come back where they started.
        with step.frozen(D_A, D_B):
            fake_B, fake_A = G_AB(real_A), G_BA(real_B)
            rec_A, rec_B = G_BA(fake_B), G_AB(fake_A)
            loss_gan = adv.g(D_B(fake_B)) + adv.g(D_A(fake_A))
            loss_cycle = cfg.lambda_cycle * (l1(rec_A, real_A) + l1(rec_B, real_B))
            loss_idt = torch.zeros((), device=real_A.device)
            if cfg.lambda_identity > 0:  # a generator fed its own output domain should change nothing
                w = cfg.lambda_cycle * cfg.lambda_identity
                loss_idt = w * (l1(G_AB(real_B), real_B) + l1(G_BA(real_A), real_A))
            step.update("G", loss_gan + loss_cycle + loss_idt)

        # Discriminators: real vs. generated images drawn from the history pools; loss halved.
        loss_D_A = adv.d_loss(D_A, real_A, self.pool_A.query(fake_A), weight=0.5)
        loss_D_B = adv.d_loss(D_B, real_B, self.pool_B.query(fake_B), weight=0.5)
        step.update("D", loss_D_A + loss_D_B)

        return {"G_gan": loss_gan, "cycle": loss_cycle, "idt": loss_idt, "D_A": loss_D_A, "D_B": loss_D_B}

    def state_dict(self) -> dict[str, Any]:
        return {"pool_A": list(self.pool_A.images), "pool_B": list(self.pool_B.images)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool_A.images = list(state.get("pool_A", []))
        self.pool_B.images = list(state.get("pool_B", []))


_BLOCK = re.compile(r"^model\.(\d+)\.conv_block\.1\.weight$")


@register_weight_format
class OfficialResnetGenerator(WeightFormat):
    """The released CycleGAN generators (horse2zebra.pth, ...): junyanz's ResnetGenerator keys,
    legacy InstanceNorm buffers dropped, the number of residual blocks read from the keys."""

    name, variant, translator = "junyanz-resnet", "cyclegan", "AtoB"
    layout = "'model.1.weight' and 'model.N.conv_block.1.weight' keys (junyanz ResnetGenerator)"

    def matches(self, sd: dict[str, Any]) -> bool:
        return "model.1.weight" in sd and any(_BLOCK.match(k) for k in sd)

    def build(self, sd: dict[str, Any], source: str) -> tuple[Any, dict[str, Any]]:
        batch_norm = "model.2.weight" in sd  # affine norm layers: a BatchNorm generator (pix2pix option)
        if not batch_norm:
            sd = {k: v for k, v in sd.items() if k.rsplit(".", 1)[-1] not in LEGACY_NORM_BUFFERS}
        blocks = sorted(int(m.group(1)) for k in sd if (m := _BLOCK.match(k)))
        first = sd["model.1.weight"]
        last = max(int(k.split(".")[1]) for k in sd if k.startswith("model.") and k.endswith(".weight"))
        kwargs = {"in_channels": int(first.shape[1]), "out_channels": int(sd[f"model.{last}.weight"].shape[0]),
                  "ngf": int(first.shape[0]), "n_blocks": len(blocks), "norm": "batch" if batch_norm else "instance"}
        net = build_net("resnet", **kwargs)
        load_into(net, sd, source)
        return net, {"name": "resnet", "kwargs": kwargs}
