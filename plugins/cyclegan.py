"""CycleGAN — Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017 (arXiv 1703.10593).

Two generators G_AB: A→B and G_BA: B→A, two discriminators D_A (judges domain A) and
D_B (judges domain B). The full objective (Eq. 3 of the paper, plus the identity loss of
Sec. 5.2):

    L = L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A) + λ·L_cyc + λ·λ_idt·L_identity

with least-squares GAN losses, λ = 10, λ_idt = 0.5, and discriminators updated from a
history of the last 50 generated images.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from translate.losses import l1, objective
from translate.metrics.image import psnr
from translate.nets import build_net, init_weights
from translate.variant import Variant, VariantConfig, option, register_variant


@dataclass
class CycleGANConfig(VariantConfig):
    generator: str = option("resnet_9blocks", "generator architecture (resnet_9blocks for 256², resnet_6blocks for 128²)")
    discriminator: str = option("patchgan", "discriminator architecture (70×70 PatchGAN)")
    ngf: int = option(64, "generator filters in the first conv layer")
    ndf: int = option(64, "discriminator filters in the first conv layer")
    norm: str = option("instance", "normalisation in G and D: instance, batch or none")
    adversarial: str = option("lsgan", "adversarial objective: lsgan, gan, hinge, wgan-gp or a plugin's")
    lambda_cycle: float = option(10.0, "weight λ of the cycle-consistency L1 loss (each direction)")
    lambda_identity: float = option(0.5, "identity loss weight, as a fraction of λ (0 = off)")
    pool_size: int = option(50, "generated images kept for the discriminator update (0 = no pool)")
    init_std: float = option(0.02, "std of the N(0, std) weight initialisation")
    batch_size: int = option(1, "images per step (per process)")
    lr: float = option(2e-4, "Adam learning rate")
    epochs: int = option(100, "epochs at the initial learning rate")
    decay_epochs: int = option(100, "epochs of linear decay of the learning rate to 0")
    image_size: int = option(256, "training crop size")
    load_size: int = option(286, "images are resized (bicubic) to this before the random crop")


class ImagePool:
    """History of generated images (Shrivastava et al.): fill up to `size`; afterwards, with
    probability 1/2 return a stored image (replacing it by the new one), else the new one.
    Images are kept (and returned) in fp32 whatever precision produced them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[Tensor] = []

    def query(self, images: Tensor) -> Tensor:
        images = images.detach().float()
        if self.size == 0:
            return images
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()).item() < 0.5:
                i = int(torch.randint(self.size, ()).item())
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)


def _split(t: Tensor, n: int) -> tuple[Tensor, Tensor]:
    return t[:n], t[n:]


@register_variant
class CycleGAN(Variant):
    name = "cyclegan"
    description = "Unpaired translation with cycle consistency (Zhu et al. 2017)"
    config = CycleGANConfig
    data = "unpaired"
    ema_nets = ("G_AB", "G_BA")
    batch_calls = True  # one call per net for independent inputs (see train_step); False: textbook calls
    # The built-in demo (no --data): 32 px apples→oranges, small nets, ~4 minutes on 2 CPU cores.
    demo = {
        "generator": "resnet_6blocks", "ngf": 16, "ndf": 16, "image_size": 32, "load_size": 36,
        "batch_size": 4, "epochs": 12, "decay_epochs": 8, "pool_size": 50,
    }

    def __init__(self, cfg: CycleGANConfig) -> None:
        super().__init__(cfg)
        self.adv = objective(cfg.adversarial)
        self.pool_A, self.pool_B = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)

    def build(self, cfg: CycleGANConfig) -> dict[str, nn.Module]:
        c = cfg.channels

        def G() -> nn.Module:
            return init_weights(build_net(cfg.generator, in_channels=c, out_channels=c, ngf=cfg.ngf, norm=cfg.norm), cfg.init_std)

        def D() -> nn.Module:
            return init_weights(build_net(cfg.discriminator, in_channels=c, ndf=cfg.ndf, norm=cfg.norm), cfg.init_std)

        return {"G_AB": G(), "G_BA": G(), "D_A": D(), "D_B": D()}

    def optimizers(self, nets: dict[str, nn.Module], cfg: CycleGANConfig) -> dict[str, torch.optim.Optimizer]:
        betas = (cfg.beta1, cfg.beta2)
        g_params = [*nets["G_AB"].parameters(), *nets["G_BA"].parameters()]
        d_params = [*nets["D_A"].parameters(), *nets["D_B"].parameters()]
        return {"G": torch.optim.Adam(g_params, cfg.lr, betas), "D": torch.optim.Adam(d_params, cfg.lr, betas)}

    def train_step(self, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        cfg, adv = self.cfg, self.adv
        G_AB, G_BA, D_A, D_B = (self.nets[k] for k in ("G_AB", "G_BA", "D_A", "D_B"))
        real_A, real_B = batch["A"], batch["B"]
        idt = cfg.lambda_identity > 0
        # Calls of one net on independent inputs run as one batched call. With instance norm
        # (per sample) that is the same math; batch norm would mix the samples' statistics.
        fuse = self.batch_calls and cfg.norm != "batch"

        # Generators: fool both discriminators, and come back where they started.
        with step.frozen(D_A, D_B):
            if idt and fuse:  # G_AB(B) is the identity term of G_AB: run it with the translation
                fake_B, idt_B = _split(G_AB(torch.cat([real_A, real_B])), len(real_A))
                fake_A, idt_A = _split(G_BA(torch.cat([real_B, real_A])), len(real_B))
            else:
                fake_B, fake_A = G_AB(real_A), G_BA(real_B)
                idt_B, idt_A = (G_AB(real_B), G_BA(real_A)) if idt else (None, None)
            rec_A, rec_B = G_BA(fake_B), G_AB(fake_A)
            loss_gan = adv.g(D_B(fake_B)) + adv.g(D_A(fake_A))
            loss_cycle = cfg.lambda_cycle * (l1(rec_A, real_A) + l1(rec_B, real_B))
            loss_idt = torch.zeros((), device=real_A.device)
            if idt:  # a generator fed its own output domain should change nothing
                w = cfg.lambda_cycle * cfg.lambda_identity
                loss_idt = w * (l1(idt_B, real_B) + l1(idt_A, real_A))
            step.update("G", loss_gan + loss_cycle + loss_idt)

        # Discriminators: real vs. generated images drawn from the history pools; loss halved.
        pooled_A, pooled_B = self.pool_A.query(fake_A), self.pool_B.query(fake_B)
        loss_D_A = 0.5 * adv.d_loss(*self._judge(D_A, real_A, pooled_A, fuse)) + adv.penalty(D_A, real_A, pooled_A)
        loss_D_B = 0.5 * adv.d_loss(*self._judge(D_B, real_B, pooled_B, fuse)) + adv.penalty(D_B, real_B, pooled_B)
        step.update("D", loss_D_A + loss_D_B)

        return {"G_gan": loss_gan, "cycle": loss_cycle, "idt": loss_idt, "D_A": loss_D_A, "D_B": loss_D_B}

    @staticmethod
    def _judge(D: nn.Module, real: Tensor, fake: Tensor, fuse: bool) -> tuple[Tensor, Tensor]:
        """D's logits for real and for fake images (one batched call when `fuse`)."""
        if not fuse:
            return D(real), D(fake)
        return _split(D(torch.cat([real, fake.to(real.dtype)])), len(real))

    def translators(self, nets: dict[str, nn.Module]) -> dict[str, nn.Module]:
        return {"AtoB": nets["G_AB"], "BtoA": nets["G_BA"]}

    def sample_rows(self, batch: dict[str, Tensor]) -> list[Tensor]:
        G_AB, G_BA = self.nets["G_AB"], self.nets["G_BA"]
        a, b = batch["A"], batch["B"]
        fake_B, fake_A = G_AB(a), G_BA(b)
        return [a, fake_B, G_BA(fake_B), b, fake_A, G_AB(fake_A)]

    def evaluate(self, gt: dict[str, Tensor]) -> dict[str, float]:
        """Ground-truth PSNR where the answer is known (the demo), next to doing nothing."""
        a, b = gt["A"], gt["B"]
        return {
            "psnr_AtoB": psnr(self.nets["G_AB"](a), b).item(),
            "psnr_BtoA": psnr(self.nets["G_BA"](b), a).item(),
            "psnr_identity": psnr(a, b).item(),
        }

    def state_dict(self) -> dict[str, Any]:
        return {"pool_A": list(self.pool_A.images), "pool_B": list(self.pool_B.images)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool_A.images = list(state.get("pool_A", []))
        self.pool_B.images = list(state.get("pool_B", []))
