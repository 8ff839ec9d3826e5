"""Family bases: what variants whose papers share a structure share in code.

- `NoiseVariant` (gan, cgan, cogan): a generator G of noise z ~ N(0, I) and a discriminator D,
  one Adam each, a fixed z kept in the run's state (so every sample grid, resumed runs
  included, shows the same codes), noise translators. `NoiseConfig` holds the DCGAN recipe.
- `TwoDomainVariant` (cyclegan, discogan): generators G_AB: A→B and G_BA: B→A, discriminators
  D_A (judges domain A) and D_B, one optimizer "G" for both generators and one "D" for both
  discriminators, translators AtoB/BtoA (whose sample rows and ground-truth PSNR come from the
  Variant defaults).

z ~ N(0, I) throughout — the DCGAN reference code's default (the DCGAN paper mentions a
uniform z); a noise translator's metadata says so ("z_dist"), so `translate sample` draws
the same distribution the generator was trained on. Noise-variant architectures take these
keyword arguments: generators `z_dim, out_channels, image_size, num_classes, width`;
discriminators `in_channels, image_size, num_classes, width` (+ `conditioning` when
conditional). `width` 0 means the architecture's own default.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from translate.errors import ConfigError
from translate.kit.losses import objective
from translate.meta import TranslatorMeta
from translate.nets import build_net, init_weights
from translate.variant import Nets, Variant, VariantConfig, option

PREVIEW_SEED, EVAL_SEED = 2014, 1406


def adam(params: Iterable[nn.Parameter], cfg: VariantConfig, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam with the config's learning rate and betas."""
    return torch.optim.Adam(params, cfg.lr, (cfg.beta1, cfg.beta2), weight_decay=weight_decay)


def make_net(name: str, init_std: float, **kwargs: Any) -> nn.Module:
    """`build_net(name, **kwargs)` with the papers' N(0, init_std) initialisation; a size the
    architecture cannot make is a one-line ConfigError."""
    try:
        net = build_net(name, **kwargs)
    except ValueError as err:
        raise ConfigError(f"architecture '{name}': {err}; change it with --set (image_size, channels, ...)") from None
    return init_weights(net, init_std)


# --- noise-driven variants ---------------------------------------------------------------------
@dataclass
class NoiseConfig(VariantConfig):
    """Fields of a GAN that maps z to images; defaults = the DCGAN recipe."""

    generator: str = option("dcgan_g", "generator: dcgan_g (DCGAN), mlp_g (the 2014 paper's MLP) or a plugin's")
    discriminator: str = option("dcgan_d", "discriminator: dcgan_d (DCGAN), mlp_d (maxout MLP) or a plugin's")
    z_dim: int = option(100, "dimension of the noise z ~ N(0, I)", min=1, max=100_000)
    ngf: int = option(0, "generator width (0 = the architecture's own: DCGAN 64 filters, MLP 1200 units)", min=0)
    ndf: int = option(0, "discriminator width (0 = the architecture's own: DCGAN 64 filters, MLP 240 maxout units)", min=0)
    adversarial: str = option("gan", "adversarial objective: gan (BCE, non-saturating G), lsgan, hinge, wgan-gp")
    init_std: float = option(0.02, "std of the N(0, std) weight initialisation", above=0)
    eval_samples: int = option(1000, "generated samples scored by evaluate (demo runs)", min=2)
    batch_size: int = option(128, "images per step (per process)", min=1)
    epochs: int = option(25, "epochs (the DCGAN reference code's default)", min=0)
    image_size: int = option(64, "image size (a power of two ≥ 8 for DCGAN nets)", min=1, max=16384)
    load_size: int = option(64, "shorter side is resized to this, then centre-cropped, then cropped to image_size", min=1)
    flip: bool = option(False, "random horizontal flips (off: the papers train without augmentation)")


def latents(n: int, z_dim: int, seed: int | None = None, device: torch.device | str = "cpu") -> Tensor:
    """[n, z_dim] standard normal codes; from a private generator when `seed` is given."""
    if seed is None:
        return torch.randn(n, z_dim, device=device)
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed)).to(device)


class FixedLatents:
    """Codes drawn once and kept in the variant's state, so every sample grid of a run
    (and of its resumed continuation) shows the same z."""

    def __init__(self, n: int, z_dim: int) -> None:
        self.z = latents(n, z_dim, PREVIEW_SEED)

    def take(self, n: int, device: torch.device) -> Tensor:
        return self.z[:n].to(device)

    def state_dict(self) -> dict[str, Tensor]:
        return {"fixed_z": self.z.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "fixed_z" in state:
            self.z = state["fixed_z"].detach().cpu()


def device_of(net: nn.Module) -> torch.device:
    """Where a net's weights live (the CPU for a net without parameters)."""
    param = next(iter(net.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


@torch.no_grad()
def generate(G: Callable[..., Tensor], z: Tensor, labels: Tensor | None = None, chunk: int = 250) -> Tensor:
    """G(z) (or G(z, labels)) in chunks, on CPU."""
    outs = []
    for i in range(0, z.shape[0], chunk):
        args = (z[i : i + chunk],) if labels is None else (z[i : i + chunk], labels[i : i + chunk])
        outs.append(G(*args).float().cpu())
    return torch.cat(outs)


class NoiseVariant(Variant):
    """G(z) against D: one Adam each ("G", "D"), the fixed preview z in the run's state."""

    config = NoiseConfig
    ema_nets = ("G",)

    def __init__(self, cfg: NoiseConfig) -> None:
        super().__init__(cfg)
        self.adv = objective(cfg.adversarial)
        self.fixed = FixedLatents(64, cfg.z_dim)

    def generator_options(self, cfg: NoiseConfig) -> dict[str, Any]:
        """Extra keyword arguments of the generator (a conditional variant adds its classes)."""
        return {}

    def discriminator_options(self, cfg: NoiseConfig) -> dict[str, Any]:
        return {}

    def build(self, cfg: NoiseConfig) -> dict[str, nn.Module]:
        size, c = cfg.image_size, cfg.channels
        G = make_net(cfg.generator, cfg.init_std, z_dim=cfg.z_dim, out_channels=c, image_size=size, width=cfg.ngf,
                  **self.generator_options(cfg))
        D = make_net(cfg.discriminator, cfg.init_std, in_channels=c, image_size=size, width=cfg.ndf,
                  **self.discriminator_options(cfg))
        return {"G": G, "D": D}

    def optimizers(self, nets: Nets, cfg: NoiseConfig) -> dict[str, torch.optim.Optimizer]:
        return {"G": adam(nets["G"].parameters(), cfg), "D": adam(nets["D"].parameters(), cfg)}

    def translators(self, nets: Nets) -> dict[str, nn.Module]:
        return {"G": nets["G"]}

    def translator_meta(self, name: str, net: nn.Module) -> TranslatorMeta:
        cfg = self.cfg
        return TranslatorMeta.noise(cfg.z_dim, cfg.channels, self.value_range, cfg.image_size,
                                    num_classes=int(getattr(cfg, "num_classes", 0)))

    def z(self, n: int, device: torch.device) -> Tensor:
        """Fresh codes for a training step."""
        return latents(n, self.cfg.z_dim, device=device)

    def state_dict(self) -> dict[str, Any]:
        return self.fixed.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.fixed.load_state_dict(state)


# --- two-domain translators -----------------------------------------------------------------------
@dataclass
class TwoDomainConfig(VariantConfig):
    """Fields of a two-domain translator (G_AB, G_BA, D_A, D_B)."""

    generator: str = option("resnet_9blocks", "generator architecture")
    discriminator: str = option("patchgan", "discriminator architecture")
    ngf: int = option(64, "generator filters in the first conv layer", min=1)
    ndf: int = option(64, "discriminator filters in the first conv layer", min=1)
    adversarial: str = option("lsgan", "adversarial objective: lsgan, gan, hinge, wgan-gp or a plugin's")
    init_std: float = option(0.02, "std of the N(0, std) weight initialisation", above=0)


class TwoDomainVariant(Variant):
    """G_AB, G_BA against D_A, D_B; optimizers "G" (both generators) and "D" (both discriminators)."""

    config = TwoDomainConfig
    data = "unpaired"
    ema_nets = ("G_AB", "G_BA")

    def __init__(self, cfg: TwoDomainConfig) -> None:
        super().__init__(cfg)
        self.adv = objective(cfg.adversarial)

    def net_options(self, cfg: TwoDomainConfig) -> dict[str, Any]:
        """Extra keyword arguments of both architectures (CycleGAN: the norm layer)."""
        return {}

    def build(self, cfg: TwoDomainConfig) -> dict[str, nn.Module]:
        c, extra = cfg.channels, self.net_options(cfg)

        def G() -> nn.Module:
            return make_net(cfg.generator, cfg.init_std, in_channels=c, out_channels=c, ngf=cfg.ngf, **extra)

        def D() -> nn.Module:
            return make_net(cfg.discriminator, cfg.init_std, in_channels=c, ndf=cfg.ndf, **extra)

        return {"G_AB": G(), "G_BA": G(), "D_A": D(), "D_B": D()}

    def optimizers(self, nets: Nets, cfg: TwoDomainConfig) -> dict[str, torch.optim.Optimizer]:
        decay = float(getattr(cfg, "weight_decay", 0.0))
        g_params = [*nets["G_AB"].parameters(), *nets["G_BA"].parameters()]
        d_params = [*nets["D_A"].parameters(), *nets["D_B"].parameters()]
        return {"G": adam(g_params, cfg, decay), "D": adam(d_params, cfg, decay)}

    def translators(self, nets: Nets) -> dict[str, nn.Module]:
        return {"AtoB": nets["G_AB"], "BtoA": nets["G_BA"]}
