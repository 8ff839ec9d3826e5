"""Data-dependent initialisation: nets whose shapes come from the data (CUT's MLP heads over the
generator's features), made once from the run's first batch before optimizers, checkpoints, EMA
and DDP see the nets — so from then on they are nets like the others, resume included."""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import torch
from torch.utils.data import default_collate

from translate.device import to_device
from translate.errors import PluginError
from translate.variant import Variant


def data_dependent_nets(variant: Variant, nets: dict[str, torch.nn.Module], train: Sequence[Any], sampler: Any,
                        device: torch.device, channels_last: bool) -> dict[str, torch.nn.Module]:
    """The variant's `data_dependent_initialize(nets, batch)` on the run's first batch (epoch 0,
    position 0: the same batch on a fresh start and on every resume, which then loads their
    weights), the nets in eval mode without gradients; the new nets on the device."""
    if type(variant).data_dependent_initialize is Variant.data_dependent_initialize:
        return {}
    sampler.set_epoch(0)
    keys = itertools.islice(iter(sampler), variant.cfg.batch_size)
    batch = to_device(default_collate([train[k] for k in keys]), device, channels_last)
    for net in nets.values():
        net.eval()
    with torch.no_grad():
        made = variant.data_dependent_initialize(MappingProxyType(nets), batch)
    name = type(variant).name
    if not isinstance(made, dict) or not all(isinstance(n, torch.nn.Module) for n in made.values()):
        raise PluginError(f"variant '{name}': data_dependent_initialize must return {{name: nn.Module}}")
    clash = sorted(set(made) & set(nets))
    if clash:
        raise PluginError(f"variant '{name}': data-dependent net '{clash[0]}' has the name of a net from build()")
    memory = torch.channels_last if channels_last else torch.contiguous_format
    return {k: n.to(device, memory_format=memory) for k, n in made.items()}
