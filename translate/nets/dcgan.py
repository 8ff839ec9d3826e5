"""DCGAN generator and discriminator (Radford, Metz & Chintala 2015, arXiv 1511.06434),
for any power-of-two image size ≥ 8, optionally class-conditional (Mirza & Osindero 2014).

G: z → ConvT 4×4 to a 4×4 map → ConvT 4×4 s2 p1 + BN + ReLU, halving channels, until the
last hidden layer has `ngf` channels → ConvT 4×4 s2 p1 to the image → Tanh. At 64 px the
first map is 4×4×(8·ngf) as in the paper; at 32 px it is 4×4×(4·ngf).
D mirrors it: Conv 4×4 s2 p1 + LeakyReLU 0.2 (no BN on this first layer), then Conv 4×4 s2
p1 + BN + LeakyReLU doubling channels down to a 4×4 map, then Conv 4×4 → one logit.
BatchNorm keeps PyTorch's eps (1e-5). Convs carry no bias, as in the PyTorch reference
(64 px, z 100, 3 channels: G 3,576,704 and D 2,765,568 parameters).

Conditioning (num_classes > 0): G concatenates a learned label embedding to z; D takes the
label as `num_classes` constant one-hot channels next to the image ("concat", the paper's
y-with-x), or adds a projection term ⟨embed(y), Σ_hw features⟩ to the logit ("projection",
Miyato & Koyama 2018).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from translate.nets.registry import register_net


def doublings(image_size: int) -> int:
    """Number of stride-2 layers between a 4×4 map and `image_size` (a power of two ≥ 8)."""
    n = image_size.bit_length() - 1
    if image_size < 8 or image_size != 1 << n:
        raise ValueError(f"DCGAN image_size must be a power of two ≥ 8, got {image_size}")
    return n - 2


def as_noise_map(z: Tensor) -> Tensor:
    """[N, z] or [N, z, 1, 1] → [N, z, 1, 1]."""
    return z.reshape(z.shape[0], -1, 1, 1)


class DCGANGenerator(nn.Module):
    def __init__(
        self,
        z_dim: int = 100,
        out_channels: int = 3,
        image_size: int = 64,
        ngf: int = 64,
        num_classes: int = 0,
        embed_dim: int = 0,
    ) -> None:
        super().__init__()
        self.z_dim, self.out_channels, self.image_size, self.num_classes = z_dim, out_channels, image_size, num_classes
        n = doublings(image_size)
        widths = [ngf * 2**i for i in reversed(range(n))]  # e.g. 64 px: 8·ngf, 4·ngf, 2·ngf, ngf
        in_dim = z_dim
        if num_classes > 0:
            embed_dim = embed_dim or num_classes  # as wide as the paper's one-hot y by default
            self.embed = nn.Embedding(num_classes, embed_dim)
            in_dim += embed_dim
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_dim, widths[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for a, b in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], out_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def condition(self, z: Tensor, labels: Tensor | None) -> Tensor:
        """The generator's input map: z, with the label embedding appended when conditional."""
        h = as_noise_map(z)
        if self.num_classes > 0:
            if labels is None:
                raise ValueError("this generator is class-conditional: call it as G(z, labels)")
            h = torch.cat([h, as_noise_map(self.embed(labels))], 1)
        return h

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.main(self.condition(z, labels))


class DCGANDiscriminator(nn.Module):
    def __init__(
        self,
        in_channels: int = 3,
        image_size: int = 64,
        ndf: int = 64,
        num_classes: int = 0,
        conditioning: str = "concat",
    ) -> None:
        super().__init__()
        if conditioning not in ("concat", "projection"):
            raise ValueError(f"unknown conditioning '{conditioning}' (concat, projection)")
        self.in_channels, self.image_size, self.num_classes = in_channels, image_size, num_classes
        self.conditioning = conditioning if num_classes > 0 else "none"
        widths = [ndf * 2**i for i in range(doublings(image_size))]  # e.g. 64 px: ndf … 8·ndf
        first_in = in_channels + (num_classes if self.conditioning == "concat" else 0)
        layers: list[nn.Module] = [nn.Conv2d(first_in, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for a, b in zip(widths, widths[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False))  # 4×4 map → one logit
        self.main = nn.Sequential(*layers)
        if self.conditioning == "projection":
            self.embed = nn.Embedding(num_classes, widths[-1])

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Logits [N] (no sigmoid: the objective decides)."""
        if self.conditioning != "none" and labels is None:
            raise ValueError("this discriminator is class-conditional: call it as D(x, labels)")
        if self.conditioning == "concat":
            onehot = F.one_hot(labels, self.num_classes).to(x.dtype)
            x = torch.cat([x, onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        h = self.main[:-1](x)
        logits = self.main[-1](h).flatten()
        if self.conditioning == "projection":
            logits = logits + (self.embed(labels) * h.sum((2, 3))).sum(1)
        return logits


@register_net("dcgan_g")
def dcgan_g(z_dim: int = 100, out_channels: int = 3, image_size: int = 64, num_classes: int = 0,
            width: int = 0, embed_dim: int = 0) -> DCGANGenerator:
    """DCGAN generator; `width` = ngf, filters of the last hidden layer (0: the paper's 64)."""
    return DCGANGenerator(z_dim, out_channels, image_size, width or 64, num_classes, embed_dim)


@register_net("dcgan_d")
def dcgan_d(in_channels: int = 3, image_size: int = 64, num_classes: int = 0, width: int = 0,
            conditioning: str = "concat") -> DCGANDiscriminator:
    """DCGAN discriminator; `width` = ndf, filters of the first layer (0: the paper's 64)."""
    return DCGANDiscriminator(in_channels, image_size, width or 64, num_classes, conditioning)
