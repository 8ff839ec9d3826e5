"""SRGAN — Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network", CVPR 2017 (arXiv 1609.04802).

A generator G (SRResNet) maps an LR image x ∈ [0, 1] to SR = G(x) ∈ [-1, 1], 4× larger (the
data arrive in [-1, 1], as every kind's do: `lr_input` maps the LR images to G's range).
Training has two phases:

    srresnet:  min_G  MSE(G(x), y)                                          (pixel loss)
    srgan:     min_G  MSE(s·φ(G(x)), s·φ(y)) + 10⁻³ · −log D(G(x))           (perceptual loss)
               min_D  −log D(y) − log(1 − D(G(x)))

with y the HR image in [-1, 1], φ = VGG19 φ5,4 (frozen; ImageNet-normalised inside the
loss) and s = 1/12.75. The srgan phase starts from the trained SRResNet (Sec. 3.2: 10⁶
SRResNet steps at 1e-4; then 10⁵ SRGAN steps at 1e-4 and 10⁵ at 1e-5; Adam β1 0.9, batch 16,
96×96 HR crops).

`phase` picks what a run does: "srresnet+srgan" (the default: the whole recipe in one run,
SRResNet for `pretrain_epochs`, then SRGAN), "srresnet" (pre-training alone) or "srgan"
(the GAN phase alone, starting from `init_from` = a srresnet run directory or checkpoint).
An epoch is `epoch_size` random crops (1000 steps at batch 16), so the paper's step counts
read as epochs × 1000 whatever the number of photos.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from translate.errors import ConfigError
from translate.kit.families import adam, make_net
from translate.kit.figures import SUPER_RESOLUTION
from translate.kit.losses import mse, objective
from translate.meta import TranslatorMeta
from translate.metrics.image import psnr_y, ssim_y
from translate.kit.perceptual import PerceptualLoss, load_vgg19
from translate.kit.schedules import from_config, product, step_drop
from translate.variant import Nets, Row, Variant, VariantConfig, option, register_variant

PHASES = ("srresnet+srgan", "srresnet", "srgan")


@dataclass
class SRGANConfig(VariantConfig):
    phase: str = option("srresnet+srgan", "srresnet+srgan (whole recipe), srresnet (MSE pre-training) or srgan "
                                          "(starts from init_from)", choices=PHASES)
    scale: int = option(4, "upscaling factor (2, 3, 4 or 8)", choices=(2, 3, 4, 8))
    generator: str = option("srresnet", "generator architecture")
    discriminator: str = option("srgan_discriminator", "discriminator architecture")
    nf: int = option(64, "generator filters", min=1, max=4096)
    n_blocks: int = option(16, "generator residual blocks", min=0, max=1024)
    ndf: int = option(64, "discriminator filters in the first conv layer", min=1, max=4096)
    adversarial: str = option("gan", "adversarial objective (gan = BCE, the paper's)")
    lambda_adv: float = option(1e-3, "weight of the adversarial loss in the srgan phase", min=0)
    vgg_layer: str = option("54", "VGG19 layer φi,j of the content loss (54 = after the ReLU of conv 4 of block 5)")
    vgg_rescale: float = option(1 / 12.75, "factor applied to the VGG feature maps before the MSE", above=0)
    vgg_weights: str = option("", "VGG19 weights file (default: torchvision's cache, vgg19-dcbb9e9d.pth)")
    pretrained: str = option("", "the 0.1 name of init_from (a srresnet run or checkpoint): kept for old configs")
    pretrain_epochs: int = option(1000, "phase srresnet+srgan: epochs of SRResNet MSE training before SRGAN", min=0)
    lr_drop_epochs: int = option(100, "final epochs of the srgan phase at lr/10 (the paper's 10⁵ steps at 1e-5)", min=0)
    epoch_size: int = option(16_000, "random HR crops per epoch, whatever the number of photos (0 = one per photo)",
                             min=0)
    init_std: float = option(0.02, "std of the N(0, std) weight initialisation", above=0)
    zero_init_residual: bool = option(False, "start G's residual branches at zero (last BN γ = 0): faster early training")
    batch_size: int = option(16, "images per step (per process)", min=1)
    lr: float = option(1e-4, "Adam learning rate", above=0, max=1)
    beta1: float = option(0.9, "Adam beta1", min=0, max=0.999999)
    epochs: int = option(1200, "epochs in all (default: 1000 SRResNet + 200 SRGAN); phase srresnet alone: 1000, "
                               "srgan alone: 200", min=0)
    lr_schedule: str = option("constant", "constant (then the step drop of lr_drop_epochs) or linear",
                              choices=("linear", "constant"))
    image_size: int = option(96, "HR crop size (the LR crop is image_size / scale)", min=1, max=16384)
    load_size: int = option(0, "unused: HR crops are taken at the photos' own resolution", min=0)
    flip: bool = option(False, "random horizontal flips (the paper has none)")


@register_variant
class SRGAN(Variant):
    name = "srgan"
    description = "4× super-resolution: SRResNet (MSE) then SRGAN (VGG54 + adversarial) (Ledig et al. 2017)"
    figures = SUPER_RESOLUTION  # what its evaluate() reports
    config = SRGANConfig
    data = "sr"
    ema_nets = ("G",)
    # The built-in demo (no --data): the SRResNet phase on procedural photos, small and short
    # (2400 steps, about 4 CPU-minutes); reports PSNR-Y against bicubic on held-out images
    # (+0.67 dB when measured). Zero-initialised residual branches make the first steps count.
    demo = {
        "phase": "srresnet", "nf": 32, "n_blocks": 4, "zero_init_residual": True, "image_size": 48,
        "batch_size": 8, "lr": 1e-3, "epoch_size": 1600, "epochs": 6, "decay_epochs": 6, "lr_schedule": "linear",
    }

    @classmethod
    def validate(cls, cfg: SRGANConfig) -> None:
        if cfg.phase == "srgan" and not (cfg.init_from or cfg.pretrained):
            raise ConfigError("phase srgan starts from a trained SRResNet: set init_from=RUN_DIR (a --set phase=srresnet "
                              "run), or use phase srresnet+srgan")
        if cfg.image_size % cfg.scale:
            raise ConfigError(f"image_size {cfg.image_size} (the HR crop) must be a multiple of scale {cfg.scale}")

    @classmethod
    def settle(cls, cfg: SRGANConfig, info: Mapping[str, Any]) -> SRGANConfig:
        if cfg.pretrained and not cfg.init_from:  # 0.1 configs: `pretrained` is init_from
            return dataclasses.replace(cfg, init_from=cfg.pretrained)
        return cfg

    def __init__(self, cfg: SRGANConfig) -> None:
        super().__init__(cfg)
        self.adv = objective(cfg.adversarial)

    @property
    def uses_gan(self) -> bool:
        return self.cfg.phase != "srresnet"

    def build(self, cfg: SRGANConfig) -> dict[str, nn.Module]:
        """The architecture only: inference rebuilds G from here and needs no VGG."""
        c = cfg.channels
        G = make_net(cfg.generator, cfg.init_std, in_channels=c, out_channels=c, nf=cfg.nf, n_blocks=cfg.n_blocks,
                     scale=cfg.scale)
        if cfg.zero_init_residual:
            if not hasattr(G, "zero_init_residuals"):
                raise ConfigError(f"generator '{cfg.generator}' cannot zero-initialise residuals; set zero_init_residual=false")
            G.zero_init_residuals()
        nets = {"G": G}
        if self.uses_gan:
            nets["D"] = make_net(cfg.discriminator, cfg.init_std, in_channels=c, ndf=cfg.ndf, image_size=cfg.image_size)
        return nets

    def auxiliary(self, cfg: SRGANConfig) -> dict[str, nn.Module]:
        """The frozen VGG19 of the content loss (the srresnet phase needs no VGG weights)."""
        if not self.uses_gan:
            return {}
        return {"vgg": PerceptualLoss(load_vgg19(cfg.vgg_layer, cfg.vgg_weights or None), (-1.0, 1.0), cfg.vgg_rescale)}

    def optimizers(self, nets: Nets, cfg: SRGANConfig) -> dict[str, Any]:
        return {k: adam(nets[k].parameters(), cfg) for k in ("G", "D") if k in nets}

    def lr_lambda(self, cfg: SRGANConfig) -> Callable[[int], float]:
        """The recipe's schedule, and lr/10 for the final `lr_drop_epochs` of an SRGAN phase."""
        total = cfg.epochs + cfg.decay_epochs
        if not (self.uses_gan and cfg.lr_drop_epochs > 0):
            return from_config(cfg)
        return product(from_config(cfg), step_drop(max(total - cfg.lr_drop_epochs, self.gan_start), 0.1))

    # --- the two phases ------------------------------------------------------------------
    @property
    def gan_start(self) -> int:
        """The first epoch of the SRGAN phase."""
        return {"srgan": 0, "srresnet+srgan": self.cfg.pretrain_epochs}.get(self.cfg.phase, 10**12)

    def in_gan_phase(self, epoch: int) -> bool:
        return epoch >= self.gan_start

    @staticmethod
    def lr_input(lr: Tensor) -> Tensor:
        """LR images from the data ([-1, 1]) in G's input range [0, 1]."""
        return (lr + 1) * 0.5

    def train_step(self, nets: Nets, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        lr, hr = self.lr_input(batch["lr"]), batch["hr"]
        if not self.in_gan_phase(step.epoch):
            loss = mse(nets["G"](lr), hr)
            step.update("G", loss)
            return {"mse": loss}

        G, D, content, adv = nets["G"], nets["D"], nets["vgg"], self.adv
        with step.frozen(D):
            sr = G(lr)
            loss_content = content(sr, hr)
            loss_adv = adv.g(D(sr))
            step.update("G", loss_content + self.cfg.lambda_adv * loss_adv)
        loss_d = adv.d_loss(D, hr, sr)
        step.update("D", loss_d)
        return {"content": loss_content, "adv": loss_adv, "D": loss_d, "mse": mse(sr.detach(), hr)}

    # --- inference and reporting --------------------------------------------------------
    def translators(self, nets: Nets) -> dict[str, nn.Module]:
        return {"SR": nets["G"]}

    def translator_meta(self, name: str, net: nn.Module) -> TranslatorMeta:
        """LR in [0, 1] → SR in [-1, 1], `scale`× larger; any input size."""
        c = self.cfg.channels
        return TranslatorMeta.image(c, c, (0.0, 1.0), (-1.0, 1.0), size_multiple=1, scale=int(self.cfg.scale))

    def sample_rows(self, nets: Nets, batch: dict[str, Tensor]) -> list[Row]:
        """LR (nearest-neighbour enlarged), SR, HR."""
        lr = batch["lr"]
        big = F.interpolate(lr, scale_factor=self.cfg.scale, mode="nearest")
        return [("LR (nearest)", big), ("SR", nets["G"](self.lr_input(lr))), ("HR", batch["hr"])]

    def evaluate(self, nets: Nets, truth: dict[str, Tensor]) -> dict[str, float]:
        """PSNR-Y / SSIM-Y (border crop = scale) of G and of bicubic upscaling on held-out images."""
        k = self.cfg.scale
        sr = nets["G"](self.lr_input(truth["lr"]))
        p, p_bic = psnr_y(sr, truth["hr"], crop=k).mean(), psnr_y(truth["bicubic"], truth["hr"], crop=k).mean()
        return {
            "psnr_y": p.item(), "psnr_y_bicubic": p_bic.item(), "psnr_y_gain": (p - p_bic).item(),
            "ssim_y": ssim_y(sr, truth["hr"], crop=k).mean().item(),
            "ssim_y_bicubic": ssim_y(truth["bicubic"], truth["hr"], crop=k).mean().item(),
        }
