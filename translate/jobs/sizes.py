"""Before any work: can the variant's nets take the configured image size at this batch size?

The nets are built on PyTorch's "meta" device (shapes only: no memory, no arithmetic) and
each translator — then each other net, on the inputs the variant declares for it
(`Variant.example_inputs`: a conditional D takes input ⊕ output) or else one image of the
translators' output size — runs one forward pass. A size the architecture cannot take (not a multiple of the generator's size
multiple, too small for a discriminator's stride-2 stack, 1×1 feature maps under BatchNorm at
batch 1...) is one line naming the key, the value and the net, instead of a tensor error
minutes into a run.
"""
from __future__ import annotations

import inspect
from typing import Any

from translate.errors import ConfigError
from translate.files import first_line
from translate.meta import TranslatorMeta


def check_sizes(cls: type, cfg: Any) -> None:
    import torch

    variant = cls(cfg)
    try:
        with torch.device("meta"):
            nets = variant.build(cfg)
    except ConfigError:
        raise
    except (TypeError, ValueError, RuntimeError, NotImplementedError) as err:
        raise ConfigError(f"the '{cls.name}' nets cannot be built with this config: {first_line(err)}") from None
    try:
        translators = variant.translators(nets)
    except (AttributeError, TypeError, KeyError, ValueError) as err:  # e.g. a generator the variant cannot use
        raise ConfigError(f"the '{cls.name}' nets cannot be built with this config (check generator/discriminator): "
                          f"{first_line(err)}") from None
    batch, size = int(cfg.batch_size), int(cfg.image_size)
    out_size = size
    with torch.no_grad():
        for name, net in translators.items():
            try:
                meta = TranslatorMeta.from_dict(variant.translator_meta(name, net), f"translator '{name}'")
            except TypeError as err:  # a net stating its attributes wrongly (NetAttributes)
                raise ConfigError(f"translator '{name}' of '{cls.name}': {first_line(err)}") from None
            if meta.is_noise:
                continue  # noise nets check their size when built
            s_in, m = size // meta.scale, meta.size_multiple
            lr = f" (the LR crop image_size/{meta.scale} = {s_in})" if meta.scale > 1 else ""
            if s_in % m:
                near = max(m, round(s_in / m) * m) * meta.scale
                raise ConfigError(f"config key 'image_size': {size} does not fit translator '{name}', which needs a "
                                  f"multiple of {m}{lr}; try image_size={near}")
            x = torch.empty(batch, meta.in_channels, s_in, s_in, device="meta")
            try:
                out_size = int(net.eval()(x).shape[-1])
            except (RuntimeError, ValueError) as err:
                raise ConfigError(f"config key 'image_size': translator '{name}' cannot take {s_in}×{s_in} inputs{lr} "
                                  f"({first_line(err)})") from None
        judged = {id(m) for t in translators.values() for m in t.modules()}
        with torch.device("meta"):
            declared = variant.example_inputs(cfg, batch, out_size)
        for key, net in nets.items():
            if key in declared:
                args = tuple(declared[key])
            elif id(net) in judged:
                continue
            elif any(p.kind is p.VAR_POSITIONAL for p in inspect.signature(net.forward).parameters.values()):
                continue  # one image per domain (coupled nets): they check their size when built
            else:
                x = torch.empty(batch, int(cfg.channels), out_size, out_size, device="meta")
                extra = [torch.zeros(batch, dtype=torch.long, device="meta")] if getattr(net, "num_classes", 0) else []
                args = (x, *extra)
            try:
                net.train()(*args)
            except TypeError:
                continue  # needs other inputs than an image (and a class label): not checkable generically
            except (RuntimeError, ValueError) as err:
                raise ConfigError(f"config keys 'image_size'/'batch_size': net '{key}' cannot take {out_size}×{out_size} "
                                  f"images at batch {batch} ({first_line(err)})") from None
