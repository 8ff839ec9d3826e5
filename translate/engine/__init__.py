from translate.engine.config import EngineConfig
from translate.engine.trainer import Trainer

__all__ = ["EngineConfig", "Trainer"]
