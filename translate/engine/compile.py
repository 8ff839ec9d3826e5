"""`compile=true`: torch.compile each net, falling back to eager (with a warning) wherever
compilation is unsupported — at wrap time or at the first call, which is when TorchDynamo and
its backend actually compile."""
from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from translate.files import first_line


def passthrough_getattr(self: nn.Module, name: str) -> Any:
    """`__getattr__` of a wrapper module (compiled, DDP): its own attributes, else those of the
    wrapped net in `self.module` (`G.z_dim`, `G.in_channels`, ...)."""
    try:
        return nn.Module.__getattr__(self, name)
    except AttributeError:
        inner = self.__dict__.get("_modules", {}).get("module")
        if inner is None or name.startswith("__"):
            raise
        return getattr(inner, name)


class Compiled(nn.Module):
    """A net that runs compiled until compiling fails once, then eagerly for good.

    The eager net is the registered submodule `module` (so parameters, state_dict and DDP see
    one set of weights); the compiled callable is kept outside the module tree."""

    def __init__(self, module: nn.Module, name: str, **options: Any) -> None:
        super().__init__()
        self.module = module
        self._label = name
        try:
            compiled = torch.compile(module, **options)
        except Exception as err:  # e.g. a Python or platform TorchDynamo does not support
            _warn(name, err)
            compiled = None
        object.__setattr__(self, "_compiled", compiled)

    @property
    def is_compiled(self) -> bool:
        return self._compiled is not None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self._compiled is not None:
            try:
                return self._compiled(*args, **kwargs)
            except Exception as err:  # backend missing (no C++ compiler, no Triton...), unsupported op
                _warn(self._label, err)
                object.__setattr__(self, "_compiled", None)
        return self.module(*args, **kwargs)

    __getattr__ = passthrough_getattr


def _warn(name: str, err: BaseException) -> None:
    warnings.warn(f"torch.compile of '{name}' unavailable ({first_line(err)}); running it eagerly", stacklevel=3)


def compile_nets(nets: dict[str, nn.Module]) -> dict[str, nn.Module]:
    return {k: Compiled(n, k) for k, n in nets.items()}
