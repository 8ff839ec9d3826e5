"""Loading state dicts with one clear line on mismatch (never executes code)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from translate.errors import WeightsError

if TYPE_CHECKING:  # torch-free import: the ONNX-only inference path reads LEGACY_NORM_BUFFERS
    from torch import nn

# Old PyTorch InstanceNorm layers saved running statistics they never used; the released
# CycleGAN generators still carry them, our affine-free, stat-free InstanceNorm has none.
LEGACY_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


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


def normalise(state: dict[str, Any], net: nn.Module) -> dict[str, Any]:
    """A state dict as `net` names things: DataParallel's `module.` prefix dropped, and legacy
    InstanceNorm buffers dropped where `net` has no such buffer."""
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = net.state_dict()
    return {k: v for k, v in state.items() if k in own or k.rsplit(".", 1)[-1] not in LEGACY_NORM_BUFFERS}
