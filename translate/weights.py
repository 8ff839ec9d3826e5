"""Loading state dicts with one clear line on mismatch (never executes code)."""
from __future__ import annotations

from typing import Any

from torch import nn

from translate.errors import WeightsError


def check_fit(net: nn.Module, state: dict[str, Any], source: str) -> None:
    """Raise WeightsError naming the first missing/unexpected/mis-shaped key."""
    own = net.state_dict()
    for key, value in own.items():
        if key not in state:
            raise WeightsError(f"{source}: missing key '{key}' (expected shape {tuple(value.shape)})")
        if tuple(state[key].shape) != tuple(value.shape):
            raise WeightsError(
                f"{source}: key '{key}' has shape {tuple(state[key].shape)}, "
                f"the architecture expects {tuple(value.shape)}"
            )
    extra = [k for k in state if k not in own]
    if extra:
        raise WeightsError(f"{source}: unexpected key '{extra[0]}' ({len(extra)} unexpected in all)")


def load_into(net: nn.Module, state: dict[str, Any], source: str) -> nn.Module:
    check_fit(net, state, source)
    net.load_state_dict(state)
    return net
