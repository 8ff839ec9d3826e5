"""pix2pix — Isola, Zhu, Zhou & Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017 (arXiv 1611.07004).

Paired data: every input x has its target y. A U-Net G maps x to G(x); a conditional
PatchGAN D judges 70×70 patches of the pair (x, y) or (x, G(x)), input and output stacked
as channels. The objective (Eq. 4 of the paper):

    G* = arg min_G max_D  L_cGAN(G, D) + λ·L_L1(G),   L_L1 = ‖y − G(x)‖₁,  λ = 100

with the vanilla (BCE) GAN loss, D's loss halved, Adam 2e-4 (β1 0.5), batch 1, 100 epochs
constant + 100 decaying, 286 → random 256 crop → flip, the same for x and y. Which half of
an aligned file is the input is `direction` (facades: BtoA, labels → photos).

At test time the paper keeps dropout on and normalises with the test image's statistics
(Sec. 3.3); that is what translators do unless run with `--eval` (the reference's `--eval`:
running statistics, no dropout). See translate.nets.unet.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from translate.errors import WeightsError
from translate.kit.families import adam, make_net
from translate.inference.formats import WeightFormat, register_weight_format
from translate.kit.losses import l1, objective
from translate.nets import build_net
from translate.variant import Nets, Variant, VariantConfig, option, register_variant
from translate.weights import load_into


@dataclass
class Pix2PixConfig(VariantConfig):
    defaults = {"decay_epochs": 100, "load_size": 286}  # the rest of the base recipe is the paper's
    direction: str = option("AtoB", "which half is the input: AtoB (left → right) or BtoA (facades)",
                            choices=("AtoB", "BtoA"))
    generator: str = option("unet_256", "generator architecture (unet_256 for 256² crops, unet_128 for 128²)")
    discriminator: str = option("patchgan", "discriminator architecture (70×70 PatchGAN on input ⊕ output)")
    ngf: int = option(64, "generator filters in the first conv layer", min=1)
    ndf: int = option(64, "discriminator filters in the first conv layer", min=1)
    norm: str = option("batch", "normalisation in G and D: batch, instance or none", choices=("batch", "instance", "none"))
    dropout: float = option(0.5, "dropout in the three U-Net blocks next to the innermost", min=0, max=0.99)
    adversarial: str = option("gan", "adversarial objective: gan (the paper's BCE), lsgan, hinge, wgan-gp")
    lambda_l1: float = option(100.0, "weight λ of the L1 loss to the target", min=0)
    init_std: float = option(0.02, "std of the N(0, std) weight initialisation", above=0)


@register_variant
class Pix2Pix(Variant):
    name = "pix2pix"
    description = "Paired translation: U-Net + conditional PatchGAN, GAN + 100·L1 (Isola et al. 2017)"
    config = Pix2PixConfig
    data = "paired"
    truth_metrics = ("psnr", "ssim")  # the demo prints both against doing nothing
    # The built-in demo (no --data): apple label maps → rendered scenes at 32 px, small nets, 500 steps
    # (+9 dB over doing nothing when measured; the paper's recipe applies whenever --data is given).
    demo = {
        "generator": "unet_32", "ngf": 32, "ndf": 32, "image_size": 32, "load_size": 36, "batch_size": 4,
        "epochs": 6, "decay_epochs": 4,
    }

    def __init__(self, cfg: Pix2PixConfig) -> None:
        super().__init__(cfg)
        self.adv = objective(cfg.adversarial)
        self.source, _, self.target = cfg.direction.partition("to")

    def build(self, cfg: Pix2PixConfig) -> dict[str, nn.Module]:
        c = cfg.channels
        G = make_net(cfg.generator, cfg.init_std, in_channels=c, out_channels=c, ngf=cfg.ngf, norm=cfg.norm,
                     dropout=cfg.dropout)
        D = make_net(cfg.discriminator, cfg.init_std, in_channels=2 * c, ndf=cfg.ndf, norm=cfg.norm)
        return {"G": G, "D": D}

    def example_inputs(self, cfg: Pix2PixConfig, batch: int, size: int) -> dict[str, tuple[Tensor, ...]]:
        """D sees the input and an output stacked: 2·channels."""
        c = cfg.channels
        return {"G": (torch.empty(batch, c, size, size),), "D": (torch.empty(batch, 2 * c, size, size),)}

    def optimizers(self, nets: Nets, cfg: Pix2PixConfig) -> dict[str, torch.optim.Optimizer]:
        return {"G": adam(nets["G"].parameters(), cfg), "D": adam(nets["D"].parameters(), cfg)}

    def train_step(self, nets: Nets, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        G, D, adv = nets["G"], nets["D"], self.adv
        x, y = batch[self.source], batch[self.target]
        fake = G(x)

        def D_given_x(image: Tensor) -> Tensor:  # the conditional discriminator: D(x ⊕ image)
            return D(torch.cat([x, image], 1))

        # D: real pairs against generated pairs, its loss halved.
        loss_d = adv.d_loss(D_given_x, y, fake, weight=0.5)
        step.update("D", loss_d)

        # G: fool D on the pair, and stay close to the target in L1.
        with step.frozen(D):
            loss_gan = adv.g(D_given_x(fake))
            loss_l1 = self.cfg.lambda_l1 * l1(fake, y)
            step.update("G", loss_gan + loss_l1)
        return {"G_gan": loss_gan, "G_L1": loss_l1, "D": loss_d}

    def translators(self, nets: Nets) -> dict[str, nn.Module]:
        return {self.cfg.direction: nets["G"]}




@register_weight_format
class OfficialUnetGenerator(WeightFormat):
    """The released pix2pix generators (latest_net_G.pth, facades_label2photo.pth, ...): junyanz's
    UnetGenerator keys; levels, widths and norm read from the keys (dropout as trained: 0.5)."""

    name, variant, translator = "junyanz-unet", "pix2pix", "AtoB"
    layout = "'model.model.0.weight' and 'model.model.1.model.1.weight' keys (junyanz UnetGenerator)"

    def matches(self, sd: dict[str, Any]) -> bool:
        return "model.model.0.weight" in sd and "model.model.1.model.1.weight" in sd

    def build(self, sd: dict[str, Any], source: str) -> tuple[Any, dict[str, Any]]:
        levels = max(k.split(".").count("model") for k in sd) - 1  # model.model.0 is level 1, each block nests one
        first, last = sd["model.model.0.weight"], sd.get("model.model.3.weight")
        if last is None:
            raise WeightsError(f"{source}: a U-Net state dict without its last layer 'model.model.3.weight'")
        norm = "batch" if "model.model.1.model.2.running_mean" in sd else (
            "instance" if "model.model.1.model.2.weight" not in sd else "batch")
        kwargs = {"in_channels": int(first.shape[1]), "out_channels": int(last.shape[1]), "ngf": int(first.shape[0]),
                  "num_downs": levels, "norm": norm, "dropout": 0.5}
        try:
            net = build_net("unet", **kwargs)
        except ValueError as err:
            raise WeightsError(f"{source}: not a U-Net this project can build ({err})") from None
        load_into(net, sd, source)
        return net, {"name": "unet", "kwargs": kwargs}
