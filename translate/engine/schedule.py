"""Learning-rate schedules, as functions of the epoch (stepped once per epoch)."""
from __future__ import annotations

from collections.abc import Callable

from translate.errors import ConfigError


def lr_factor(kind: str, epochs: int, decay_epochs: int) -> Callable[[int], float]:
    """'linear': constant for `epochs`, then linear to ~0 over `decay_epochs` (CycleGAN:
    factor(e) = 1 − max(0, e − epochs)/(decay_epochs + 1)); 'constant': always 1."""
    if kind == "constant" or decay_epochs <= 0:
        return lambda epoch: 1.0
    if kind == "linear":
        return lambda epoch: 1.0 - max(0, epoch - epochs) / float(decay_epochs + 1)
    raise ConfigError(f"unknown lr_schedule '{kind}'; use linear or constant")
