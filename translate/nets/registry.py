"""The architecture registry: networks by name (`@register_net("name")`, `build_net(name, **kw)`)."""
from __future__ import annotations

from typing import Any

from torch import nn

from translate.registry import Registry

NETS: Registry[Any] = Registry("architecture")
register_net = NETS.register


def build_net(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate the architecture registered as `name` with its keyword arguments."""
    return NETS.get(name)(**kwargs)


def count_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
