"""DiscoGAN's networks (Kim et al. 2017), layer for layer as the official code (SKTBrain/DiscoGAN).

Generator: a 64×64 encoder–decoder, convolutions without bias, Sigmoid output in [0, 1].
Discriminator: four stride-2 convolutions and a 4×4 valid convolution to one logit; with
`features=True` it also returns the three BatchNorm-layer activations, which DiscoGAN's
feature-matching loss uses.
The logit is returned without a sigmoid: the objective (BCE-with-logits) applies it.
"""
from __future__ import annotations

from torch import Tensor, nn

from translate.nets.registry import register_net


def _down(cin: int, cout: int, bn: bool) -> list[nn.Module]:
    """Conv4×4 s2 p1 (no bias) [+ BN] + LeakyReLU(0.2): halves the size."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, 2, 1, bias=False)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    return [*layers, nn.LeakyReLU(0.2, inplace=True)]


def _up(cin: int, cout: int) -> list[nn.Module]:
    """ConvTranspose4×4 s2 p1 (no bias) + BN + ReLU: doubles the size."""
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class DiscoGenerator(nn.Module):
    """C64 - C128 - C256 - C512 (encoder) → T256 - T128 - T64 - T3 + Sigmoid (decoder)."""

    size_multiple = 16  # four stride-2 stages

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.main = nn.Sequential(
            *_down(in_channels, ngf, bn=False),
            *_down(ngf, ngf * 2, bn=True),
            *_down(ngf * 2, ngf * 4, bn=True),
            *_down(ngf * 4, ngf * 8, bn=True),
            *_up(ngf * 8, ngf * 4),
            *_up(ngf * 4, ngf * 2),
            *_up(ngf * 2, ngf),
            nn.ConvTranspose2d(ngf, out_channels, 4, 2, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x)


class DiscoDiscriminator(nn.Module):
    """C64 - C128 - C256 - C512 - Conv4×4 s1 p0 → logit; features = the three BN-layer activations.

    A 64×64 input gives one logit per image ([N, 1, 1, 1]); larger inputs give a map.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64) -> None:
        super().__init__()
        self.block1 = nn.Sequential(*_down(in_channels, ndf, bn=False))
        self.block2 = nn.Sequential(*_down(ndf, ndf * 2, bn=True))
        self.block3 = nn.Sequential(*_down(ndf * 2, ndf * 4, bn=True))
        self.block4 = nn.Sequential(*_down(ndf * 4, ndf * 8, bn=True))
        self.head = nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False)

    def forward(self, x: Tensor, features: bool = False) -> Tensor | tuple[Tensor, list[Tensor]]:
        """The logit; with `features`, (logit, [the three BN-layer activations])."""
        f2 = self.block2(self.block1(x))
        f3 = self.block3(f2)
        f4 = self.block4(f3)
        return (self.head(f4), [f2, f3, f4]) if features else self.head(f4)


@register_net("discogan_generator")
def discogan_generator(**kw) -> DiscoGenerator:
    """DiscoGAN encoder–decoder (5,513,856 parameters at ngf 64)."""
    return DiscoGenerator(**kw)


@register_net("discogan_discriminator")
def discogan_discriminator(**kw) -> DiscoDiscriminator:
    """DiscoGAN discriminator: the logit (with features=True also its three feature maps); 2,765,568 parameters at ndf 64."""
    return DiscoDiscriminator(**kw)
