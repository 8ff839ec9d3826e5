"""Architecture registry: networks by name, so variants and configs refer to them by string.

Third-party plugins add their own with ``@register_net("name")`` on a class or factory.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from translate.nets.init import init_weights
from translate.registry import Registry

NETS: Registry[Any] = Registry("architecture")
register_net = NETS.register


def build_net(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate the architecture registered as `name` with its keyword arguments."""
    return NETS.get(name)(**kwargs)


def count_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# Built-in architectures register on import.
from translate.nets import patchgan, resnet  # noqa: E402,F401
from translate.nets import discogan, srresnet  # noqa: E402,F401
from translate.nets import coupled, dcgan, mlp  # noqa: E402,F401

__all__ = ["NETS", "register_net", "build_net", "count_params", "init_weights"]
