"""torchrun/DDP plumbing: process group from the environment, per-net DDP wrapping."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_from_env(device_type: str) -> DistInfo:
    """Join the process group torchrun describes (WORLD_SIZE/RANK/...); single process otherwise.

    NCCL for CUDA, gloo for CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return info


def wrap(nets: dict[str, nn.Module], device: torch.device, info: DistInfo, sync_bn: bool = False) -> dict[str, nn.Module]:
    """Each trainable net in its own DistributedDataParallel (buffers not broadcast)."""
    if not info.enabled:
        return nets
    out = {}
    for key, net in nets.items():
        if not any(p.requires_grad for p in net.parameters()):
            out[key] = net
            continue
        if sync_bn:
            net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        ids = [device.index] if device.type == "cuda" else None
        out[key] = nn.parallel.DistributedDataParallel(net, device_ids=ids, broadcast_buffers=False)
    return out


def barrier(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
