"""Learning-rate schedules a variant can declare: factors of the base learning rate, as
functions of the epoch (the engine steps them once per epoch, with torch's LambdaLR).

    def lr_lambda(self, cfg):                    # SRGAN: the recipe's schedule, then ×0.1
        return product(from_config(cfg), step_drop(at=total - 100, factor=0.1))

A variant may also return one schedule per optimizer name ({"G": ..., "D": ...}).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from translate.errors import ConfigError

Schedule = Callable[[int], float]
KINDS = ("linear", "constant")


def constant() -> Schedule:
    return lambda epoch: 1.0


def linear_decay(epochs: int, decay_epochs: int) -> Schedule:
    """Constant for `epochs`, then linear to ~0 over `decay_epochs` (CycleGAN:
    factor(e) = 1 − max(0, e − epochs)/(decay_epochs + 1))."""
    if decay_epochs <= 0:
        return constant()
    return lambda epoch: 1.0 - max(0, epoch - epochs) / float(decay_epochs + 1)


def step_drop(at: int, factor: float) -> Schedule:
    """1 before epoch `at`, `factor` from it on (a step drop, e.g. SRGAN's last 10⁵ steps at lr/10)."""
    return lambda epoch: factor if epoch >= at else 1.0


def product(*schedules: Schedule) -> Schedule:
    """The schedules multiplied, epoch by epoch."""
    return lambda epoch: math.prod(s(epoch) for s in schedules)


def lr_factor(kind: str, epochs: int, decay_epochs: int) -> Schedule:
    """The schedule a config's `lr_schedule` names: 'linear' (see linear_decay) or 'constant'."""
    if kind == "constant":
        return constant()
    if kind == "linear":
        return linear_decay(epochs, decay_epochs)
    raise ConfigError(f"unknown lr_schedule '{kind}'; use linear or constant")


def from_config(cfg: Any) -> Schedule:
    """Every variant's default: `lr_schedule` over `epochs` + `decay_epochs`."""
    return lr_factor(cfg.lr_schedule, cfg.epochs, cfg.decay_epochs)
