"""SRGAN's networks (Ledig et al. 2017, Fig. 4): the SRResNet generator and the discriminator.

SRResNet: Conv9×9 + PReLU → B residual blocks [Conv3×3, BN, PReLU, Conv3×3, BN, + skip] →
Conv3×3 + BN, + long skip → upsampling stages [Conv3×3 nf→4nf, PixelShuffle(2), PReLU]
(two for ×4, one for ×2; ×3 uses one PixelShuffle(3) stage) → Conv9×9 → Tanh. Input in
[0, 1], output in [-1, 1] (the paper's ranges). PReLU has one learned slope per layer.

Discriminator: Conv3×3 64 + LReLU(0.2), then seven Conv3×3 + BN + LReLU blocks
(64 s2, 128 s1, 128 s2, 256 s1, 256 s2, 512 s1, 512 s2) → Dense 1024 + LReLU → Dense 1
(a logit: the BCE objective applies the sigmoid). The dense layer fixes the input size.
"""
from __future__ import annotations

from torch import Tensor, nn

from translate.errors import ConfigError
from translate.nets.registry import register_net

_STAGES = {2: (2,), 3: (3,), 4: (2, 2), 8: (2, 2, 2)}  # PixelShuffle factors per scale


class ResidualBlock(nn.Module):
    """x + [Conv3×3, BN, PReLU, Conv3×3, BN](x)."""

    def __init__(self, nf: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(nf, nf, 3, padding=1), nn.BatchNorm2d(nf), nn.PReLU(),
            nn.Conv2d(nf, nf, 3, padding=1), nn.BatchNorm2d(nf),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """The SRGAN generator: LR [N, C, h, w] in [0, 1] → SR [N, C, scale·h, scale·w] in [-1, 1]."""

    size_multiple = 1

    def __init__(self, in_channels: int = 3, out_channels: int = 3, nf: int = 64, n_blocks: int = 16, scale: int = 4) -> None:
        super().__init__()
        if scale not in _STAGES:
            raise ConfigError(f"SRResNet scale {scale} is not supported; use one of {sorted(_STAGES)}")
        self.in_channels, self.out_channels, self.scale = in_channels, out_channels, scale
        self.head = nn.Sequential(nn.Conv2d(in_channels, nf, 9, padding=4), nn.PReLU())
        self.body = nn.Sequential(*[ResidualBlock(nf) for _ in range(n_blocks)])
        self.body_end = nn.Sequential(nn.Conv2d(nf, nf, 3, padding=1), nn.BatchNorm2d(nf))
        up: list[nn.Module] = []
        for factor in _STAGES[scale]:
            up += [nn.Conv2d(nf, nf * factor * factor, 3, padding=1), nn.PixelShuffle(factor), nn.PReLU()]
        self.upsample = nn.Sequential(*up)
        self.tail = nn.Sequential(nn.Conv2d(nf, out_channels, 9, padding=4), nn.Tanh())

    def zero_init_residuals(self) -> SRResNet:
        """Set the last BN γ of every residual branch (and of the long skip's) to 0, so each
        block starts as the identity and the input reaches the upsampler undisturbed."""
        for block in self.body:
            nn.init.zeros_(block.body[-1].weight)
        nn.init.zeros_(self.body_end[-1].weight)
        return self

    def forward(self, x: Tensor) -> Tensor:
        h = self.head(x)
        h = h + self.body_end(self.body(h))  # the long skip connection
        return self.tail(self.upsample(h))


class SRDiscriminator(nn.Module):
    """The SRGAN discriminator for `image_size`² HR images (96 in the paper): one logit per image."""

    def __init__(self, in_channels: int = 3, ndf: int = 64, image_size: int = 96) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        plan = [(ndf, 2), (ndf * 2, 1), (ndf * 2, 2), (ndf * 4, 1), (ndf * 4, 2), (ndf * 8, 1), (ndf * 8, 2)]
        prev, size = ndf, image_size
        for channels, stride in plan:
            layers += [nn.Conv2d(prev, channels, 3, stride, 1), nn.BatchNorm2d(channels), nn.LeakyReLU(0.2, inplace=True)]
            prev, size = channels, -(-size // stride)  # 3×3, padding 1: ceil(size / stride)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(prev * size * size, 1024), nn.LeakyReLU(0.2, inplace=True), nn.Linear(1024, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


@register_net("srresnet")
def srresnet(**kw) -> SRResNet:
    """SRResNet ×4, 16 blocks, 64 filters (1,549,462 parameters)."""
    return SRResNet(**kw)


@register_net("srgan_discriminator")
def srgan_discriminator(**kw) -> SRDiscriminator:
    """SRGAN discriminator for 96² HR crops (23,565,505 parameters at ndf 64; image_size sets the dense layer)."""
    return SRDiscriminator(**kw)
