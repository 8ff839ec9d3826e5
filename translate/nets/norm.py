"""Normalisation layers by name, as the reference implementations configure them."""
from __future__ import annotations

from torch import nn


def norm_layer(kind: str, channels: int) -> nn.Module:
    """'instance' = InstanceNorm2d(affine=False, no running stats) as CycleGAN; 'batch'; 'none'."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm '{kind}' (instance, batch, none)")
