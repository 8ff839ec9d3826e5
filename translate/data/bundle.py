"""What a dataset kind returns (and what a demo's judge trains on), and how a `--data` value becomes a folder."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # keep `translate.data.images` importable without torch (ONNX-only convert)
    from torch.utils.data import Dataset


@dataclass
class DataBundle:
    train: Dataset
    preview: Dataset  # fixed items for sample grids
    source: str  # "demo" or the resolved folder
    ground_truth: Any = None  # held-out data with known answers (the demos), for `evaluate`
    in_memory: bool = False  # no file I/O: DataLoader workers would only add overhead
    info: dict[str, Any] = field(default_factory=dict)  # what the data decides (class names...), kept in checkpoints


@dataclass(frozen=True)
class JudgeData:
    """What a demo's judging classifier trains on (translate.metrics.judge trains and caches it):
    `make()` = (train images, train labels, test images, test labels); `key` names the data
    (and changes when the data do)."""

    key: str
    make: Callable[[], tuple[Any, Any, Any, Any]]
    num_classes: int


def resolve_path(value: str | Path) -> Path:
    """A folder path, or the name of a fetched catalog dataset."""
    from translate.data.catalog import resolve_data

    return resolve_data(str(value))
