"""translate: image-to-image GANs for PyTorch.

`translate.load(source, direction=None)` returns a callable translator; it is imported
lazily so `import translate` stays light (no torch until it is used).
"""
from __future__ import annotations

from typing import Any

__all__ = ["load"]


def __getattr__(name: str) -> Any:
    if name == "load":
        from translate.inference.loading import load

        return load
    raise AttributeError(f"module 'translate' has no attribute {name!r}")
