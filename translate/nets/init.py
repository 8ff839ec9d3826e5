"""The one weight initialisation the papers share (DCGAN/pix2pix/CycleGAN convention)."""
from __future__ import annotations

from torch import nn

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.SyncBatchNorm)


def init_weights(net: nn.Module, std: float = 0.02, kind: str = "normal") -> nn.Module:
    """Conv/linear weights ~ N(0, std) (`kind` "xavier": Xavier-normal with gain `std`, the CUT
    code's default), biases 0; affine norm weights ~ N(1, std), biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if kind == "xavier":
                nn.init.xavier_normal_(m.weight, gain=std)
            else:
                nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _NORMS) and getattr(m, "weight", None) is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return net
