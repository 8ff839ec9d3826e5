"""DDP plumbing of the training loop: per-net DDP wrapping and the tensor collectives it needs (stop
flag, loss averages, replica check); the process group itself is translate/parallel.py.

One process per GPU (NCCL) or per CPU slot (gloo). Each trainable net gets its own
DistributedDataParallel, so a gradient is all-reduced only by the backward of the loss
that trains it. A net the variant has frozen (`step.frozen(D)` while updating G) is called
past DDP, straight through to the module: DDP would otherwise prepare a reduction that
never happens. (Measured with torch 2.14: through DDP with static_graph=True the ranks'
weights silently drift apart — `replicas_identical` at the end of a run showed it; the default
DDP settings happen to tolerate it. Calling past DDP is right under any setting.)
"""
from __future__ import annotations

import hashlib
import inspect
import warnings
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from translate.engine.compile import passthrough_getattr
from translate.parallel import (  # noqa: F401 - the trainer reaches them as D.<name>
    DistInfo,
    barrier,
    broadcast_object,
    gather_to_main,
    init_from_env,
    launch,
    shutdown,
    to_cpu,
    torchrun_command,
)


class DDP(nn.parallel.DistributedDataParallel):
    """DistributedDataParallel that steps aside while its net is frozen, and that still
    answers the wrapped net's own attributes (`G.z_dim`, `G.in_channels`...)."""

    def __init__(self, module: nn.Module, **kw: Any) -> None:
        super().__init__(module, **kw)
        self._synced = [p for p in module.parameters() if p.requires_grad]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if torch.is_grad_enabled() and not any(p.requires_grad for p in self._synced):
            return self.module(*args, **kwargs)  # frozen: no gradient of ours to all-reduce
        return super().forward(*args, **kwargs)

    __getattr__ = passthrough_getattr


# torch >= 2.14 names it forward_sync_buffers (and still syncs buffers once, at wrap time)
_NO_FORWARD_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(nn.parallel.DistributedDataParallel.__init__).parameters
    else {"broadcast_buffers": False}
)


def sync_batchnorm(nets: dict[str, nn.Module], device: torch.device, info: DistInfo) -> dict[str, nn.Module]:
    """BatchNorm -> SyncBatchNorm (same parameters and buffers), for multi-GPU runs."""
    if not info.enabled:
        return nets
    if device.type != "cuda":
        warnings.warn("sync_batchnorm needs CUDA devices; BatchNorm statistics stay per process", stacklevel=2)
        return nets
    return {k: nn.SyncBatchNorm.convert_sync_batchnorm(n) for k, n in nets.items()}


def wrap(nets: dict[str, nn.Module], device: torch.device, info: DistInfo) -> dict[str, nn.Module]:
    """Each trainable net in its own DDP. Buffers are not broadcast: instance norm has none,
    and BatchNorm statistics stay per process (unless made SyncBatchNorm, see above)."""
    if not info.enabled:
        return nets
    out = {}
    for key, net in nets.items():
        if not any(p.requires_grad for p in net.parameters()):
            out[key] = net
            continue
        ids = [device.index] if device.type == "cuda" else None
        out[key] = DDP(net, device_ids=ids, **_NO_FORWARD_BUFFER_SYNC)
    return out


# --- collectives the loop uses ------------------------------------------------------------
def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every rank when it is true on any (so all ranks stop at the same step)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def mean_over_ranks(values: dict[str, float], info: DistInfo, device: torch.device) -> dict[str, float]:
    """Average logged scalars over ranks (every rank has the same keys)."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return dict(zip(keys, (t / info.world_size).tolist()))


def replicas_identical(nets: dict[str, nn.Module], info: DistInfo) -> bool:
    """Whether every rank holds bit-identical parameters and buffers (a check for the end of
    a run: DDP replicas that drifted apart mean gradients were not all-reduced somewhere)."""
    digest = hashlib.sha256()
    for key in sorted(nets):
        for name, t in sorted(nets[key].state_dict().items()):
            digest.update(name.encode())
            digest.update(t.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    if not info.enabled:
        return True
    found = [None] * info.world_size
    dist.all_gather_object(found, digest.hexdigest())
    return len(set(found)) == 1


