"""What a variant's `train_step` gets: stepping optimizers and freezing nets, engine-side.

`step.update("G", loss)` does zero_grad → backward (scaled in fp16) → unscale → clip →
step for the optimizer named "G"; the variant never touches precision or DDP details. Under
DDP the backward all-reduces the gradients of the nets it reaches (each its own DDP), and a
GradScaler skips the step on every rank alike (the all-reduced gradients are the same).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor, nn


class Step:
    def __init__(
        self,
        optimizers: dict[str, torch.optim.Optimizer],
        scalers: dict[str, torch.amp.GradScaler],
        grad_clip: float = 0.0,
        device: torch.device | str = "cpu",
    ) -> None:
        self.optimizers = optimizers  # the engine's; a variant steps them through update()
        self.scalers = scalers
        self.grad_clip = grad_clip
        self.device = torch.device(device)
        self.index = 0  # global step number (0-based) of the step being run
        self.epoch = 0
        self.updated: set[str] = set()

    def update(self, name: str | tuple[str, ...], loss: Tensor) -> None:
        """One optimizer step of the optimizer `name` on `loss`; a tuple of names steps each of
        them on one backward of `loss` (CUT's generator and its MLP heads)."""
        names = (name,) if isinstance(name, str) else tuple(name)
        for key in names:
            if key not in self.optimizers:
                raise KeyError(f"no optimizer named '{key}'; have {sorted(self.optimizers)}")
        opts = [self.optimizers[key] for key in names]
        scaler = self.scalers.get(names[0])  # one scale for one backward
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            for opt in opts:
                if self.grad_clip > 0:
                    scaler.unscale_(opt)
                    self._clip(opt)
                scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            for opt in opts:
                if self.grad_clip > 0:
                    self._clip(opt)
                opt.step()
        self.updated.update(names)

    def _clip(self, opt: torch.optim.Optimizer) -> None:
        params = [p for group in opt.param_groups for p in group["params"] if p.grad is not None]
        torch.nn.utils.clip_grad_norm_(params, self.grad_clip)

    @staticmethod
    @contextlib.contextmanager
    def frozen(*nets: nn.Module) -> Iterator[None]:
        """Turn off requires_grad of `nets` inside the block (e.g. D while updating G).

        Under DDP a net whose parameters are all frozen is called past its DDP wrapper (see
        engine/distributed.py), so no gradient reduction is prepared for it."""
        saved = [(p, p.requires_grad) for net in nets for p in net.parameters()]
        for p, _ in saved:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p, flag in saved:
                p.requires_grad_(flag)
