"""SRGAN — Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network", CVPR 2017 (arXiv 1609.04802).

A generator G (SRResNet) maps an LR image x ∈ [0, 1] to SR = G(x) ∈ [-1, 1], 4× larger.
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
(the GAN phase alone, from `pretrained` = a srresnet run directory or checkpoint).
An epoch is `epoch_size` random crops (1000 steps at batch 16), so the paper's step counts
read as epochs × 1000 whatever the number of photos.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from translate.engine.schedule import lr_factor
from translate.errors import ConfigError, WeightsError
from translate.losses import mse, objective
from translate.metrics.image import psnr_y, ssim_y
from translate.nets import build_net, init_weights
from translate.perceptual import PerceptualLoss, load_vgg19
from translate.variant import Variant, VariantConfig, option, register_variant

PHASES = ("srresnet+srgan", "srresnet", "srgan")


@dataclass
class SRGANConfig(VariantConfig):
    phase: str = option("srresnet+srgan", "srresnet+srgan (whole recipe), srresnet (MSE pre-training) or srgan (needs pretrained)")
    scale: int = option(4, "upscaling factor (2, 3, 4 or 8)")
    generator: str = option("srresnet", "generator architecture")
    discriminator: str = option("srgan_discriminator", "discriminator architecture")
    nf: int = option(64, "generator filters")
    n_blocks: int = option(16, "generator residual blocks")
    ndf: int = option(64, "discriminator filters in the first conv layer")
    adversarial: str = option("gan", "adversarial objective (gan = BCE, the paper's)")
    lambda_adv: float = option(1e-3, "weight of the adversarial loss in the srgan phase")
    vgg_layer: str = option("54", "VGG19 layer φi,j of the content loss (54 = after the ReLU of conv 4 of block 5)")
    vgg_rescale: float = option(1 / 12.75, "factor applied to the VGG feature maps before the MSE")
    vgg_weights: str = option("", "VGG19 weights file (default: torchvision's cache, vgg19-dcbb9e9d.pth)")
    pretrained: str = option("", "run directory or checkpoint whose G starts this run (needed by phase srgan)")
    pretrain_epochs: int = option(1000, "phase srresnet+srgan: epochs of SRResNet MSE training before SRGAN")
    lr_drop_epochs: int = option(100, "final epochs of the srgan phase at lr/10 (the paper's 10⁵ steps at 1e-5)")
    epoch_size: int = option(16_000, "random HR crops per epoch, whatever the number of photos (0 = one per photo)")
    init_std: float = option(0.02, "std of the N(0, std) weight initialisation")
    zero_init_residual: bool = option(False, "start G's residual branches at zero (last BN γ = 0): faster early training")
    batch_size: int = option(16, "images per step (per process)")
    lr: float = option(1e-4, "Adam learning rate")
    beta1: float = option(0.9, "Adam beta1")
    epochs: int = option(1200, "epochs in all (default: 1000 SRResNet + 200 SRGAN); phase srresnet alone: 1000, srgan alone: 200")
    lr_schedule: str = option("constant", "constant (then the step drop of lr_drop_epochs) or linear")
    image_size: int = option(96, "HR crop size (the LR crop is image_size / scale)")
    load_size: int = option(0, "unused: HR crops are taken at the photos' own resolution")
    flip: bool = option(False, "random horizontal flips (the paper has none)")


def latest_generator_state(source: str | Path) -> tuple[dict[str, Tensor], str]:
    """The G weights of a run directory, a training checkpoint, or a plain state-dict file."""
    from translate.engine.checkpoint import latest, load_checkpoint

    path = Path(source).expanduser()
    if path.is_dir():
        found = latest(path / "checkpoints") or latest(path)
        if found is None:
            raise WeightsError(f"pretrained run {path} has no checkpoint; point pretrained= at a finished srresnet run")
        path = found
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        if not path.is_file():
            raise WeightsError(f"pretrained weights not found: {path}")
        return load_file(str(path)), str(path)
    state = load_checkpoint(path)
    if "nets" in state:
        if "G" not in state["nets"]:
            raise WeightsError(f"{path} has no generator 'G' (has: {', '.join(sorted(state['nets']))}); is it an SRGAN run?")
        return state["nets"]["G"], f"{path}:G"
    return state, str(path)


@register_variant
class SRGAN(Variant):
    name = "srgan"
    description = "4× super-resolution: SRResNet (MSE) then SRGAN (VGG54 + adversarial) (Ledig et al. 2017)"
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

    def __init__(self, cfg: SRGANConfig) -> None:
        super().__init__(cfg)
        if cfg.phase not in PHASES:
            raise ConfigError(f"unknown phase '{cfg.phase}'; use one of {', '.join(PHASES)}")
        if cfg.phase == "srgan" and not cfg.pretrained:
            raise ConfigError(
                "phase srgan starts from a trained SRResNet: set pretrained=RUN_DIR (a --set phase=srresnet run), "
                "or use phase srresnet+srgan"
            )
        if cfg.image_size % cfg.scale:
            raise ConfigError(f"image_size {cfg.image_size} (the HR crop) must be a multiple of scale {cfg.scale}")
        self.adv = objective(cfg.adversarial)
        self.content: nn.Module | None = None  # the VGG loss, set up by optimizers()

    @property
    def uses_gan(self) -> bool:
        return self.cfg.phase != "srresnet"

    def build(self, cfg: SRGANConfig) -> dict[str, nn.Module]:
        """The architecture only: inference rebuilds G from here and needs no VGG or pretrained run."""
        c = cfg.channels
        G = build_net(cfg.generator, in_channels=c, out_channels=c, nf=cfg.nf, n_blocks=cfg.n_blocks, scale=cfg.scale)
        nets = {"G": init_weights(G, cfg.init_std)}
        if cfg.zero_init_residual:
            if not hasattr(G, "zero_init_residuals"):
                raise ConfigError(f"generator '{cfg.generator}' cannot zero-initialise residuals; set zero_init_residual=false")
            G.zero_init_residuals()
        if self.uses_gan:
            D = build_net(cfg.discriminator, in_channels=c, ndf=cfg.ndf, image_size=cfg.image_size)
            nets["D"] = init_weights(D, cfg.init_std)
        return nets

    def optimizers(self, nets: dict[str, nn.Module], cfg: SRGANConfig) -> dict[str, torch.optim.Optimizer]:
        """Adam (β1 0.9). Only training calls this, so the training-only parts are set up here too:
        G starts from `pretrained`, and the srgan phase loads its VGG19 (fails now if missing)."""
        if cfg.pretrained:
            from translate.weights import load_into

            state, source = latest_generator_state(cfg.pretrained)
            load_into(nets["G"], state, source)  # load_state_dict copies onto G's device
        if self.uses_gan:  # the srresnet phase never needs VGG weights
            vgg = load_vgg19(cfg.vgg_layer, cfg.vgg_weights or None)
            self.content = PerceptualLoss(vgg, (-1.0, 1.0), cfg.vgg_rescale)
        betas = (cfg.beta1, cfg.beta2)
        return {k: torch.optim.Adam(n.parameters(), cfg.lr, betas) for k, n in nets.items()}

    # --- the two phases ------------------------------------------------------------------
    def in_gan_phase(self, epoch: int) -> bool:
        cfg = self.cfg
        return cfg.phase == "srgan" or (cfg.phase == "srresnet+srgan" and epoch >= cfg.pretrain_epochs)

    def lr_multiplier(self, epoch: int) -> float:
        """0.1 in the final `lr_drop_epochs` of an SRGAN phase, else 1 (times the engine's schedule)."""
        cfg = self.cfg
        total = cfg.epochs + cfg.decay_epochs
        dropped = self.in_gan_phase(epoch) and cfg.lr_drop_epochs > 0 and epoch >= total - cfg.lr_drop_epochs
        return 0.1 if dropped else 1.0

    def train_step(self, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        self._set_lr(step)
        lr, hr = batch["lr"], batch["hr"]
        if not self.in_gan_phase(step.epoch):
            sr = self.nets["G"](lr)
            loss = mse(sr, hr)
            step.update("G", loss)
            return {"mse": loss}
        return self._gan_step(lr, hr, step)

    def _gan_step(self, lr: Tensor, hr: Tensor, step: Any) -> dict[str, Tensor]:
        G, D, adv = self.nets["G"], self.nets["D"], self.adv
        content = self._content_loss()
        with step.frozen(D):
            sr = G(lr)
            loss_content = content(sr, hr)
            loss_adv = adv.g(D(sr))
            step.update("G", loss_content + self.cfg.lambda_adv * loss_adv)
        fake = sr.detach()
        loss_d = adv.d_loss(D(hr), D(fake))
        step.update("D", loss_d)
        return {"content": loss_content, "adv": loss_adv, "D": loss_d, "mse": mse(fake, hr)}

    def _content_loss(self) -> nn.Module:
        if self.content is None:
            raise RuntimeError("the VGG content loss is set up by optimizers(); call it first")
        return self.content.to(self.device)

    def _set_lr(self, step: Any) -> None:
        """The paper's step drop, on top of the engine's per-epoch schedule (which has no step kind)."""
        cfg = self.cfg
        factor = lr_factor(cfg.lr_schedule, cfg.epochs, cfg.decay_epochs)(step.epoch) * self.lr_multiplier(step.epoch)
        for opt in step.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = cfg.lr * factor

    # --- inference and reporting --------------------------------------------------------
    def translators(self, nets: dict[str, nn.Module]) -> dict[str, nn.Module]:
        return {"SR": nets["G"]}

    def translator_meta(self, name: str, net: nn.Module) -> dict[str, Any]:
        """LR in [0, 1] → SR in [-1, 1], `scale`× larger; any input size."""
        c = self.cfg.channels
        return {
            "input": "image", "in_channels": c, "out_channels": c, "in_range": [0.0, 1.0],
            "out_range": [-1.0, 1.0], "size_multiple": 1, "scale": int(self.cfg.scale),
        }

    def sample_rows(self, batch: dict[str, Tensor]) -> list[Tensor]:
        """LR (nearest-neighbour enlarged), SR, HR."""
        lr = batch["lr"]
        big = F.interpolate(lr, scale_factor=self.cfg.scale, mode="nearest") * 2 - 1
        return [big, self.nets["G"](lr), batch["hr"]]

    def evaluate(self, gt: dict[str, Tensor]) -> dict[str, float]:
        """PSNR-Y / SSIM-Y (border crop = scale) of G and of bicubic upscaling on held-out images."""
        k = self.cfg.scale
        sr = self.nets["G"](gt["lr"])
        p, p_bic = psnr_y(sr, gt["hr"], crop=k).mean(), psnr_y(gt["bicubic"], gt["hr"], crop=k).mean()
        return {
            "psnr_y": p.item(), "psnr_y_bicubic": p_bic.item(), "psnr_y_gain": (p - p_bic).item(),
            "ssim_y": ssim_y(sr, gt["hr"], crop=k).mean().item(),
            "ssim_y_bicubic": ssim_y(gt["bicubic"], gt["hr"], crop=k).mean().item(),
        }
