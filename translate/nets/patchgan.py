"""PatchGAN discriminator (pix2pix/CycleGAN "70×70 PatchGAN", n_layers 3).

Keys match the reference `NLayerDiscriminator`: `model.0`, `model.2`, `model.5`, ...
A 256² input gives a 30×30 map of logits (no sigmoid: the objective decides).
"""
from __future__ import annotations

from torch import Tensor, nn

from translate.nets.registry import register_net
from translate.nets.norm import norm_layer


class NLayerDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance") -> None:
        super().__init__()
        bias = norm != "batch"  # a following BatchNorm makes the conv bias redundant
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last of these is stride 1
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=bias),
                norm_layer(norm, ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


@register_net("patchgan")
def patchgan(**kw) -> NLayerDiscriminator:
    """70×70 PatchGAN (2,764,737 parameters at ndf 64)."""
    kw.setdefault("n_layers", 3)
    return NLayerDiscriminator(**kw)
