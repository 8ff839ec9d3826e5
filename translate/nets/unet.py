"""U-Net generator of pix2pix (`unet_256`, `unet_128`, and smaller ones for small crops).

Layer for layer and key for key the reference `UnetGenerator`: nested skip blocks, each a
`model` Sequential of [LeakyReLU(0.2), Conv4×4 s2 (down), norm, inner block, ReLU,
ConvTranspose4×4 s2 (up), norm, (Dropout 0.5)], its output concatenated with its input. The
outermost block has no LeakyReLU or norm before its conv and ends in Tanh; the innermost has
no norm on its down side. `num_downs` levels take a 2^num_downs crop down to 1×1; dropout sits
in the `num_downs - 5` blocks next to the innermost (three for unet_256). Official
`latest_net_G.pth` files (batch norm) load as they are: `model.model.0.weight`,
`model.model.1.model.1.weight`, ...

Test time (`set_test_mode`): "paper" (the default) follows the paper — BatchNorm normalises
with each image's own statistics and dropout stays on, with masks drawn from a hash of the
seed and the (channel, row, column) position, so reruns are identical, every image of a batch
gets the masks it would get alone, and the graph exports to ONNX; "eval" is the reference's
`--eval`: running statistics, no dropout.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from translate.nets.norm import norm_layer
from translate.nets.registry import register_net

TEST_MODES = ("paper", "eval")
_P = 2_147_483_647  # a prime below 2^31: squares stay inside int64


class PerImageBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d (same parameters, buffers and keys) that, at test time in paper mode,
    normalises every image with its own statistics — what the paper's batch-1 test does."""

    test_mode = "paper"

    def forward(self, x: Tensor) -> Tensor:
        if self.training or self.test_mode == "eval":
            return super().forward(x)
        return F.instance_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


def _mix(h: Tensor) -> Tensor:
    return (h * h + 40_503) % _P


class TestTimeDropout(nn.Dropout):
    """Dropout that, at test time in paper mode, stays on with a fixed mask per position."""

    test_mode = "paper"
    seed = 0

    def __init__(self, p: float = 0.5, salt: int = 0) -> None:
        super().__init__(p)
        self.salt = salt  # which dropout layer: each has its own masks

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            return super().forward(x)
        if self.test_mode == "eval" or self.p == 0:
            return x
        _, c, h, w = x.shape
        base = 1_000_003 * (int(self.seed) % 1000 + 1) + 7919 * self.salt
        hc = _mix(torch.arange(c, device=x.device, dtype=torch.int64) + base).view(1, c, 1, 1)
        hy = _mix(hc + torch.arange(h, device=x.device, dtype=torch.int64).view(1, 1, h, 1))
        hx = _mix(_mix(hy + torch.arange(w, device=x.device, dtype=torch.int64).view(1, 1, 1, w)))
        keep = (hx.to(torch.float32) / _P >= self.p).to(x.dtype)
        return x * keep / (1.0 - self.p)


def set_test_mode(net: nn.Module, mode: str = "paper", seed: int = 0) -> nn.Module:
    """Choose what a net's test-time BatchNorm and dropout do ("paper" or "eval"); returns `net`."""
    if mode not in TEST_MODES:
        raise ValueError(f"unknown test mode '{mode}' (paper, eval)")
    for m in net.modules():
        if isinstance(m, (PerImageBatchNorm2d, TestTimeDropout)):
            m.test_mode = mode
        if isinstance(m, TestTimeDropout):
            m.seed = seed
    return net


def has_test_modes(net: nn.Module) -> bool:
    """Whether `net` behaves differently in the paper's and the `--eval` test mode."""
    return any(isinstance(m, (PerImageBatchNorm2d, TestTimeDropout)) for m in net.modules())


def _norm(kind: str, channels: int) -> nn.Module:
    return PerImageBatchNorm2d(channels) if kind == "batch" else norm_layer(kind, channels)


class UnetSkipBlock(nn.Module):
    """down → inner → up, and the input concatenated to the output (except outermost)."""

    def __init__(self, outer: int, inner: int, in_channels: int | None = None, submodule: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, norm: str = "batch", dropout: float = 0.0,
                 salt: int = 0) -> None:
        super().__init__()
        self.outermost = outermost
        bias = norm != "batch"
        down = nn.Conv2d(in_channels or outer, inner, 4, stride=2, padding=1, bias=bias)
        if outermost:
            layers = [down, submodule, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias), _norm(norm, outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down, _norm(norm, inner), submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias), _norm(norm, outer)]
            if dropout:
                layers.append(TestTimeDropout(dropout, salt))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], 1)


class UnetGenerator(nn.Module):
    """`num_downs` levels, ngf filters at the top, up to 8·ngf; skips at every level."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, num_downs: int = 8, ngf: int = 64,
                 norm: str = "batch", dropout: float = 0.5) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"a U-Net needs at least 5 levels, got num_downs={num_downs}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.size_multiple, self.scale = 2**num_downs, 1
        block = UnetSkipBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for i in range(num_downs - 5):
            block = UnetSkipBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, dropout=dropout, salt=i + 1)
        for mult in (4, 2, 1):
            block = UnetSkipBlock(ngf * mult, ngf * mult * 2, submodule=block, norm=norm)
        self.model = UnetSkipBlock(out_channels, ngf, in_channels, block, outermost=True, norm=norm)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


@register_net("unet")
def unet(**kw) -> UnetGenerator:
    """U-Net with `num_downs` levels (default 8)."""
    return UnetGenerator(**kw)


def _preset(levels: int) -> None:
    def build(**kw) -> UnetGenerator:
        kw.setdefault("num_downs", levels)
        return UnetGenerator(**kw)

    build.__doc__ = f"U-Net for {2**levels}² crops ({levels} levels)"
    register_net(f"unet_{2**levels}")(build)


for _levels in (5, 6, 7, 8):  # unet_32 ... unet_256 (the reference has unet_128 and unet_256)
    _preset(_levels)
