"""What the noise-driven variants (gan, cgan, cogan) share: their config fields, building their
nets by name, latent codes (fixed ones for comparable sample grids), and inference metadata.

z ~ N(0, I) throughout — the DCGAN reference code's default (the DCGAN paper mentions a
uniform z); a noise translator's metadata says so ("z_dist"), so `translate sample` draws
the same distribution the generator was trained on.

Noise-variant architectures take these keyword arguments: generators `z_dim, out_channels,
image_size, num_classes, width`; discriminators `in_channels, image_size, num_classes, width`
(+ `conditioning` when conditional). `width` 0 means the architecture's own default.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from translate.errors import ConfigError
from translate.nets import build_net, init_weights
from translate.variant import VariantConfig, option

PREVIEW_SEED, EVAL_SEED = 2014, 1406


@dataclass
class NoiseConfig(VariantConfig):
    """Fields of a GAN that maps z to images; defaults = the DCGAN recipe."""

    generator: str = option("dcgan_g", "generator: dcgan_g (DCGAN), mlp_g (the 2014 paper's MLP) or a plugin's")
    discriminator: str = option("dcgan_d", "discriminator: dcgan_d (DCGAN), mlp_d (maxout MLP) or a plugin's")
    z_dim: int = option(100, "dimension of the noise z ~ N(0, I)")
    ngf: int = option(0, "generator width (0 = the architecture's own: DCGAN 64 filters, MLP 1200 units)")
    ndf: int = option(0, "discriminator width (0 = the architecture's own: DCGAN 64 filters, MLP 240 maxout units)")
    adversarial: str = option("gan", "adversarial objective: gan (BCE, non-saturating G), lsgan, hinge, wgan-gp")
    init_std: float = option(0.02, "std of the N(0, std) weight initialisation")
    eval_samples: int = option(1000, "generated samples scored by evaluate (demo runs)")
    batch_size: int = option(128, "images per step (per process)")
    lr: float = option(2e-4, "Adam learning rate")
    beta1: float = option(0.5, "Adam beta1")
    beta2: float = option(0.999, "Adam beta2")
    epochs: int = option(25, "epochs (the DCGAN reference code's default)")
    decay_epochs: int = option(0, "further epochs with the learning rate decaying linearly to 0")
    image_size: int = option(64, "image size (a power of two ≥ 8 for DCGAN nets)")
    load_size: int = option(64, "shorter side is resized to this, then centre-cropped, then cropped to image_size")
    channels: int = option(3, "image channels (3 = RGB, 1 = grayscale)")
    flip: bool = option(False, "random horizontal flips (off: the papers train without augmentation)")


def build_noise_net(name: str, init_std: float, **kwargs: Any) -> nn.Module:
    """`build_net(name, **kwargs)` with the shared initialisation; a bad size is a one-line ConfigError."""
    try:
        net = build_net(name, **kwargs)
    except ValueError as err:
        raise ConfigError(f"architecture '{name}': {err}; change it with --set (image_size, channels, ...)") from None
    return init_weights(net, init_std)


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


@torch.no_grad()
def generate(G: Callable[..., Tensor], z: Tensor, labels: Tensor | None = None, chunk: int = 250) -> Tensor:
    """G(z) (or G(z, labels)) in chunks, on CPU."""
    outs = []
    for i in range(0, z.shape[0], chunk):
        args = (z[i : i + chunk],) if labels is None else (z[i : i + chunk], labels[i : i + chunk])
        outs.append(G(*args).float().cpu())
    return torch.cat(outs)


def noise_meta(cfg: Any, num_classes: int, out_range: tuple[float, float]) -> dict[str, Any]:
    """What `translate sample`/`export` need to run a noise translator: net(z) or net(z, labels)."""
    return {
        "input": "noise",
        "z_dim": cfg.z_dim,
        "z_dist": "normal",
        "num_classes": num_classes,
        "out_channels": cfg.channels,
        "out_range": list(out_range),
        "image_size": cfg.image_size,
    }
