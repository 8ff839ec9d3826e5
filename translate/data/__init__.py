"""Datasets by kind ("unpaired", ...): a folder (or catalog name) or, with no data, the built-in demo.

Variants name the kind they train on (`Variant.data`); plugins can register new kinds
with ``@register_data_kind("name")`` on a function ``(data, cfg, **options) -> DataBundle``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from translate.registry import Registry

if TYPE_CHECKING:  # keep `translate.data.images` importable without torch (ONNX-only convert)
    from torch.utils.data import Dataset


@dataclass
class DataBundle:
    train: Dataset
    preview: Dataset  # fixed items for sample grids
    source: str  # "demo" or the resolved folder
    ground_truth: Any = None  # held-out data with known answers (the demos), for `evaluate`
    in_memory: bool = False  # no file I/O: DataLoader workers would only add overhead
    info: dict[str, Any] = field(default_factory=dict)  # e.g. class names, kept in checkpoints


DATA_KINDS: Registry[Any] = Registry("dataset kind")
register_data_kind = DATA_KINDS.register


def resolve_path(value: str | Path) -> Path:
    """A folder path, or the name of a fetched catalog dataset."""
    try:
        from translate.data.catalog import resolve_data
    except ImportError:  # catalog not available: plain paths only
        return Path(value)
    return resolve_data(str(value))


def open_data(kind: str, data: str | Path | None, cfg: Any, **options: Any) -> DataBundle:
    return DATA_KINDS.get(kind)(data, cfg, **options)


@register_data_kind("unpaired")
def _unpaired(data: str | Path | None, cfg: Any, **options: Any) -> DataBundle:
    if data is None:
        from translate.data.demos.apples import DemoUnpaired, ground_truth_pairs

        return DataBundle(
            train=DemoUnpaired(cfg, n=options.get("demo_size", 200)),
            preview=DemoUnpaired(cfg, n=8, train=False),
            source="demo",
            ground_truth=ground_truth_pairs(cfg),
            in_memory=True,
        )
    from translate.data.unpaired import open_unpaired

    root = resolve_path(data)
    train, preview = open_unpaired(root, cfg)
    return DataBundle(train=train, preview=preview, source=str(root))


@register_data_kind("sr")
def _sr(data: str | Path | None, cfg: Any, **options: Any) -> DataBundle:
    """Super-resolution: HR photos (LR by bicubic downscaling) or hr/ + lr/ pairs; no data: the demo."""
    from translate.data.sr import open_sr

    return open_sr(data, cfg, **options)


@register_data_kind("single")
def _single(data: str | Path | None, cfg: Any, **options: Any) -> DataBundle:
    """One folder of images (recursive), for unconditional GANs; no data: the glyph demo."""
    from translate.data.generative import open_single

    return open_single(data, cfg, **options)


@register_data_kind("labelled")
def _labelled(data: str | Path | None, cfg: Any, **options: Any) -> DataBundle:
    """One subfolder per class (names sorted into info["class_names"]); no data: the glyph demo."""
    from translate.data.generative import open_labelled

    return open_labelled(data, cfg, **options)


@register_data_kind("two_folders")
def _two_folders(data: str | Path | None, cfg: Any, **options: Any) -> DataBundle:
    """Two unpaired domains: --data A --data-b B, or A/ B/ (trainA/ trainB/); no data: glyphs vs inverted glyphs."""
    from translate.data.generative import open_two_folders

    return open_two_folders(data, cfg, **options)
