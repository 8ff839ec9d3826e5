"""CUT and FastCUT — Park, Efros, Zhang & Zhu, "Contrastive Learning for Unpaired
Image-to-Image Translation", ECCV 2020 (arXiv 2007.15651).

One generator G: X→Y and one discriminator D, no inverse mapping and no cycle. Instead of
cycle consistency, a patch of the output G(x) must be recognisable as coming from the patch of
x at the same place, among the other patches of the same image (PatchNCE, Eq. 2-5):

    L = λ_GAN · L_GAN(G, D) + λ_NCE · L_PatchNCE(G, H, X)            (FastCUT, λ_NCE = 10)
    L = λ_GAN · L_GAN(G, D) + λ_NCE · ½(L_PatchNCE(X) + L_PatchNCE(Y)) (CUT, λ_NCE = 1)

where the identity term of CUT applies PatchNCE to (y, G(y)). Features come from G's own
encoder at five layers (the input, the two downsampling convolutions, the first and the fifth
residual block); each layer has a two-layer MLP head H_l (256 units) over 256 random patch
positions, L2-normalised, temperature τ = 0.07. The heads' input widths are those of G's
features, so they are built from the first batch. LSGAN, no image pool, D's loss halved.
FastCUT adds flip-equivariance: the batch is flipped at random and the output's features are
flipped back before they are compared with the source's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from translate.errors import ConfigError
from translate.kit.families import adam
from translate.kit.losses import objective, patch_nce
from translate.nets import build_net, init_weights
from translate.nets.heads import PatchHeads
from translate.variant import Nets, Variant, VariantConfig, option, register_variant

# The authors' nce_layers 0,4,8,12,16 index their ResNet with anti-aliased downsampling (pad,
# conv, norm, ReLU, then conv, norm, ReLU, blur-pool per downsampling): the padded input, the
# two downsampling convolutions, residual blocks 1 and 5. In our ResNet (stride-2 convolutions,
# the authors' --no_antialias layout) the same layers are entries 0, 4, 7, 10 and 14.
NCE_LAYERS = "0,4,7,10,14"


@dataclass
class CUTConfig(VariantConfig):
    generator: str = option("resnet_9blocks", "generator architecture (a ResNet: its encoder feeds PatchNCE)")
    discriminator: str = option("patchgan", "discriminator architecture (70×70 PatchGAN)")
    norm: str = option("instance", "normalisation in G and D: instance, batch or none", choices=("instance", "batch", "none"))
    ngf: int = option(64, "generator filters in the first conv layer", min=1)
    ndf: int = option(64, "discriminator filters in the first conv layer", min=1)
    adversarial: str = option("lsgan", "adversarial objective: lsgan, gan, hinge, wgan-gp or a plugin's")
    init: str = option("xavier", "weight initialisation: xavier (the authors' code) or normal", choices=("xavier", "normal"))
    init_std: float = option(0.02, "gain of the Xavier (or std of the normal) initialisation", above=0)
    lambda_gan: float = option(1.0, "weight λ_GAN of G's adversarial loss", min=0)
    lambda_nce: float = option(1.0, "weight λ_NCE of the PatchNCE loss", min=0)
    nce_idt: bool = option(True, "identity PatchNCE on Y, NCE(y, G(y)), averaged with NCE(x, G(x))")
    nce_layers: str = option(NCE_LAYERS, "entries of G's layer list feeding PatchNCE: the input, both downsampling "
                                         "convs, residual blocks 1 and 5 (the authors' 0,4,8,12,16 of their anti-aliased G)")
    nce_units: int = option(256, "width of the MLP heads (their output size)", min=1)
    num_patches: int = option(256, "patch positions drawn per layer and image", min=1)
    nce_tau: float = option(0.07, "temperature τ of PatchNCE", above=0)
    flip_equivariance: bool = option(False, "flip the batch at random and the output's features back (FastCUT)")
    epochs: int = option(200, "epochs at the initial learning rate (the authors' n_epochs)", min=0)
    decay_epochs: int = option(200, "epochs of linear decay of the learning rate to 0 (n_epochs_decay)", min=0)
    load_size: int = option(286, "images are resized (bicubic) to this before the random crop", min=1, max=16384)


@dataclass
class FastCUTConfig(CUTConfig):
    # FastCUT: a stronger NCE term, no identity NCE, flip-equivariance, 150 + 50 epochs
    defaults = {"lambda_nce": 10.0, "nce_idt": False, "flip_equivariance": True, "epochs": 150, "decay_epochs": 50}


def nce_layers(cfg: CUTConfig) -> tuple[int, ...]:
    try:
        layers = tuple(int(v) for v in cfg.nce_layers.split(","))
    except ValueError:
        layers = ()
    if not layers or min(layers) < 0:
        raise ConfigError(f"config key 'nce_layers': '{cfg.nce_layers}' is not a comma-separated list of layer "
                          f"numbers ≥ 0 (e.g. {NCE_LAYERS})")
    return layers


@register_variant
class CUT(Variant):
    name = "cut"
    description = "One-sided unpaired translation with patchwise contrastive learning (Park et al. 2020)"
    config = CUTConfig
    data = "unpaired"
    ema_nets = ("G",)
    # The built-in demo (no --data): 32 px apples→oranges, CycleGAN's small demo nets, 300 steps
    # (4 + 2 epochs: PatchNCE needs fewer than CycleGAN's 20), 64 patches per layer.
    demo = {"generator": "resnet_6blocks", "ngf": 16, "ndf": 16, "image_size": 32, "load_size": 36,
            "batch_size": 4, "epochs": 4, "decay_epochs": 2, "num_patches": 64}

    def __init__(self, cfg: CUTConfig) -> None:
        super().__init__(cfg)
        self.adv = objective(cfg.adversarial)
        self.layers = nce_layers(cfg)

    @classmethod
    def validate(cls, cfg: CUTConfig) -> None:
        """The NCE layers must be entries of the generator's layer list (checked on the meta device)."""
        layers = nce_layers(cfg)
        with torch.device("meta"):
            G = build_net(cfg.generator, in_channels=cfg.channels, out_channels=cfg.channels, ngf=cfg.ngf, norm=cfg.norm)
        size = len(G.model) if isinstance(getattr(G, "model", None), nn.Sequential) else 0
        if max(layers) >= size:
            have = f"entries 0-{size - 1}" if size else "no layer list to take features from"
            raise ConfigError(f"config key 'nce_layers': {cfg.nce_layers} does not fit generator '{cfg.generator}' "
                              f"({have}); use a ResNet generator and layers such as {NCE_LAYERS}")

    def build(self, cfg: CUTConfig) -> dict[str, nn.Module]:
        c = cfg.channels
        G = build_net(cfg.generator, in_channels=c, out_channels=c, ngf=cfg.ngf, norm=cfg.norm)
        D = build_net(cfg.discriminator, in_channels=c, ndf=cfg.ndf, norm=cfg.norm)
        return {"G": init_weights(G, cfg.init_std, cfg.init), "D": init_weights(D, cfg.init_std, cfg.init)}

    def data_dependent_initialize(self, nets: Nets, batch: dict[str, Tensor]) -> dict[str, nn.Module]:
        """The MLP heads H, one per NCE layer, as wide as G's features on the first batch."""
        if self.cfg.lambda_nce == 0:
            return {}
        feats = nets["G"](batch["A"][:1], layers=self.layers)
        H = PatchHeads([f.shape[1] for f in feats], self.cfg.nce_units)
        return {"H": init_weights(H, self.cfg.init_std, self.cfg.init)}

    def optimizers(self, nets: Nets, cfg: CUTConfig) -> dict[str, torch.optim.Optimizer]:
        opts = {"G": adam(nets["G"].parameters(), cfg), "D": adam(nets["D"].parameters(), cfg)}
        if "H" in nets:
            opts["H"] = adam(nets["H"].parameters(), cfg)
        return opts

    def patch_nce(self, nets: Nets, src: Tensor, out: Tensor, flipped: bool) -> Tensor:
        """λ_NCE · PatchNCE between G's features of the source and of its translation, averaged
        over the layers; the output's features are flipped back if its input was flipped."""
        cfg, G, H = self.cfg, nets["G"], nets["H"]
        feat_q = G(out, layers=self.layers)
        if flipped:
            feat_q = [f.flip(3) for f in feat_q]
        with torch.no_grad():  # the keys: PatchNCE does not train through them
            k, where = H(G(src, layers=self.layers), cfg.num_patches)
        q, _ = H(feat_q, cfg.num_patches, where)
        losses = [patch_nce(qi, ki, cfg.nce_tau, src.shape[0]) for qi, ki in zip(q, k)]
        return cfg.lambda_nce * torch.stack(losses).mean()

    def train_step(self, nets: Nets, batch: dict[str, Tensor], step: Any) -> dict[str, Tensor]:
        cfg, adv = self.cfg, self.adv
        G, D = nets["G"], nets["D"]
        real_A, real_B = batch["A"], batch["B"]
        n = real_A.shape[0]

        # One pass of G over x (and y, for the identity term), flipped at random in FastCUT.
        real = torch.cat([real_A, real_B]) if cfg.nce_idt else real_A
        flipped = cfg.flip_equivariance and bool(torch.rand(()) < 0.5)
        if flipped:
            real = real.flip(3)
        fake = G(real)
        fake_B, idt_B = fake[:n], fake[n:]

        # Discriminator first: real y against G(x), loss halved.
        loss_D = adv.d_loss(D, real_B, fake_B, weight=0.5)
        step.update("D", loss_D)

        # Generator and heads: fool D, and keep each output patch tied to its source patch.
        zero = torch.zeros((), device=real_A.device)
        with step.frozen(D):
            loss_gan = cfg.lambda_gan * adv.g(D(fake_B)) if cfg.lambda_gan > 0 else zero
            loss_nce = loss_nce_y = zero
            if cfg.lambda_nce > 0:
                loss_nce = self.patch_nce(nets, real_A, fake_B, flipped)
                if cfg.nce_idt:
                    loss_nce_y = self.patch_nce(nets, real_B, idt_B, flipped)
            nce = (loss_nce + loss_nce_y) / 2 if cfg.nce_idt else loss_nce
            step.update(("G", "H") if "H" in nets else "G", loss_gan + nce)

        out = {"G_gan": loss_gan, "nce": loss_nce, "D": loss_D}
        if cfg.nce_idt:
            out["nce_Y"] = loss_nce_y
        return out

    def translators(self, nets: Nets) -> dict[str, nn.Module]:
        return {"AtoB": nets["G"]}


@register_variant
class FastCUT(CUT):
    name = "fastcut"
    description = "CUT without the identity term, λ_NCE 10 and flip-equivariance: faster (Park et al. 2020)"
    config = FastCUTConfig
    demo = {**CUT.demo}
