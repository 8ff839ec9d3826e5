"""Exponential moving average of generator weights (optional, engine-side)."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps `decay`-averaged copies of some nets; buffers are copied as they are."""

    def __init__(self, nets: dict[str, nn.Module], decay: float) -> None:
        self.decay = decay
        self.shadow = {k: copy.deepcopy(_unwrap(n)).eval().requires_grad_(False) for k, n in nets.items()}

    @torch.no_grad()
    def update(self, nets: dict[str, nn.Module]) -> None:
        for key, shadow in self.shadow.items():
            src = _unwrap(nets[key])
            for s, p in zip(shadow.parameters(), src.parameters()):
                s.lerp_(p.detach().to(s.dtype), 1.0 - self.decay)
            for s, b in zip(shadow.buffers(), src.buffers()):
                s.copy_(b)

    def state_dict(self) -> dict[str, dict]:
        return {k: v.state_dict() for k, v in self.shadow.items()}

    def load_state_dict(self, state: dict[str, dict]) -> None:
        for k, sd in state.items():
            self.shadow[k].load_state_dict(sd)


def _unwrap(net: nn.Module) -> nn.Module:
    """The plain module inside DDP / torch.compile / engine `Compiled` wrappers."""
    from translate.engine.compile import Compiled

    while True:
        if isinstance(net, (nn.parallel.DistributedDataParallel, Compiled)):
            net = net.module
        elif hasattr(net, "_orig_mod"):  # torch.compile's OptimizedModule
            net = net._orig_mod
        else:
            return net
