"""The training engine: the loop and everything a variant must never do (stepping, precision,
schedules, EMA, checkpoints, resume, DDP, logs). Imported lazily, so `import translate.engine`
(or a plugin importing a helper from it) does not pull in the trainer."""
from __future__ import annotations

from typing import Any

__all__ = ["EngineConfig", "Trainer"]


def __getattr__(name: str) -> Any:
    if name == "EngineConfig":
        from translate.engine.config import EngineConfig

        return EngineConfig
    if name == "Trainer":
        from translate.engine.trainer import Trainer

        return Trainer
    raise AttributeError(f"module 'translate.engine' has no attribute {name!r}")
