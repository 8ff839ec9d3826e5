"""torchrun/DDP plumbing: process group from the environment, per-net DDP wrapping, the few
collectives the loop needs (stop flag, loss averages, per-rank state), and `--nproc`.

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
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from translate.engine.compile import passthrough_getattr


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    owns_group: bool = False  # this process created the process group (and destroys it)

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
    info = DistInfo(
        int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")),
        int(os.environ.get("LOCAL_WORLD_SIZE", str(world))),
    )
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
        info.owns_group = True
    if device_type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        # processes sharing a machine's cores: split them instead of oversubscribing
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // info.local_world_size))
    return info


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


def barrier(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and info.owns_group and dist.is_initialized():
        dist.destroy_process_group()


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


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    """Rank 0's `obj` on every rank."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_to_main(obj: Any, info: DistInfo) -> list[Any] | None:
    """Every rank's `obj` (moved to CPU) as a list on rank 0; None on the others."""
    obj = to_cpu(obj)
    if not info.enabled:
        return [obj]
    out = [None] * info.world_size if info.is_main else None
    dist.gather_object(obj, out, dst=0)
    return out


def to_cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


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


# --- `translate train --nproc N` ----------------------------------------------------------
def torchrun_command(nproc: int, argv: list[str]) -> list[str]:
    """`python -m torch.distributed.run --standalone --nproc-per-node N -m translate ARGS`, where
    ARGS are `argv` (the arguments after the program name) without `--nproc N`."""
    args, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            args.append(arg)
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "translate", *args]


def launch(nproc: int, argv: list[str]) -> int:
    """Run the same command under torchrun with `nproc` processes; returns its exit code.

    Ctrl-C reaches torchrun from the terminal, and torchrun passes it on to the workers (which
    finish the step, save and stop together); this process only waits, so it ignores it."""
    import signal
    import subprocess

    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))  # torchrun's default: 1
    proc = subprocess.Popen(torchrun_command(nproc, argv), env=env)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
