"""ResNet generator of Johnson et al. as used by CycleGAN (`resnet_9blocks`, `resnet_6blocks`, `resnet_3blocks`).

Layer for layer (and state-dict key for key) the reference CycleGAN generator, so the
officially released `.pth` files load: `model.1` ... `model.26`, blocks `conv_block.1/5`.
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from translate.nets.registry import register_net
from translate.nets.norm import norm_layer


class ResnetBlock(nn.Module):
    """x + [pad, conv3x3, norm, ReLU, (dropout), pad, conv3x3, norm] — no ReLU after the add."""

    def __init__(self, dim: int, norm: str = "instance", dropout: float = 0.0, padding: str = "reflect") -> None:
        super().__init__()
        pad = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d, "zero": nn.ZeroPad2d}[padding]
        layers: list[nn.Module] = [pad(1), nn.Conv2d(dim, dim, 3), norm_layer(norm, dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [pad(1), nn.Conv2d(dim, dim, 3), norm_layer(norm, dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """c7s1-ngf, d(2ngf), d(4ngf), n_blocks × R(4ngf), u(2ngf), u(ngf), c7s1-out, Tanh."""

    size_multiple = 4  # two stride-2 downsamplings

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        dropout: float = 0.0,
        padding: str = "reflect",
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7),
            norm_layer(norm, ngf),
            nn.ReLU(True),
        ]
        ch = ngf
        for _ in range(2):  # downsampling
            layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1), norm_layer(norm, ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [ResnetBlock(ch, norm, dropout, padding) for _ in range(n_blocks)]
        for _ in range(2):  # upsampling
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1, output_padding=1),
                norm_layer(norm, ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor, layers: Sequence[int] = ()) -> Tensor | list[Tensor]:
        """The translated image; with `layers`, only the outputs of those entries of `model`
        (encoder features for CUT's PatchNCE), stopping after the last one asked for."""
        if not layers:
            return self.model(x)
        feats, last = [], max(layers)
        for i, layer in enumerate(self.model[: last + 1]):
            x = layer(x)
            if i in layers:
                feats.append(x)
        return feats


@register_net("resnet_9blocks")
def resnet_9blocks(**kw) -> ResnetGenerator:
    """CycleGAN generator for 256² images (11,378,179 parameters at ngf 64)."""
    return ResnetGenerator(n_blocks=9, **kw)


@register_net("resnet_6blocks")
def resnet_6blocks(**kw) -> ResnetGenerator:
    """CycleGAN generator for 128² images."""
    return ResnetGenerator(n_blocks=6, **kw)


@register_net("resnet_3blocks")
def resnet_3blocks(**kw) -> ResnetGenerator:
    """A shallower generator for small images (the CycleGAN demo's, at 32²): three residual blocks."""
    return ResnetGenerator(n_blocks=3, **kw)


@register_net("resnet")
def resnet(**kw) -> ResnetGenerator:
    """ResNet generator with a configurable `n_blocks`."""
    return ResnetGenerator(**kw)
