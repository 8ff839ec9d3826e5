"""Datasets by kind ("unpaired", ...): a folder (or catalog name) or, with no data, the built-in demo.

Variants name the kind they train on (`Variant.data`); plugins can register new kinds
with ``@register_data_kind("name")`` on a function ``(data, cfg, **options) -> DataBundle``.
The data never changes the config: what it decides (class names) goes into `DataBundle.info`,
and the variant's `settle(cfg, info)` turns it into config before the nets are built.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from translate.data.bundle import DataBundle, resolve_path
from translate.registry import Registry

DATA_KINDS: Registry[Any] = Registry("dataset kind")
register_data_kind = DATA_KINDS.register


def open_data(kind: str, data: str | Path | None, cfg: Any, **options: Any) -> DataBundle:
    return DATA_KINDS.get(kind)(data, cfg, **options)


def _call(target: str, *args: Any, **kwargs: Any) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args, **kwargs)


def _builtin(kind: str, demo: str, folder: str, doc: str) -> None:
    """A kind whose demo and folder readers live in their own modules (imported when used)."""

    def open_kind(data: str | Path | None, cfg: Any, **options: Any) -> DataBundle:
        if data is None:
            return _call(demo, cfg, **options)
        return _call(folder, resolve_path(data), cfg, **options)

    open_kind.__doc__ = doc
    DATA_KINDS.add(kind, open_kind, source="translate.data")


_builtin("unpaired", "translate.data.demos.apples:demo_bundle", "translate.data.unpaired:open_folders",
         "Two unpaired domains trainA/ trainB/ (testA/ testB/) or A/ B/; no data: apples→oranges.")
_builtin("sr", "translate.data.demos.sr_photos:demo_bundle", "translate.data.sr:open_sr",
         "Super-resolution: HR photos (LR by bicubic downscaling) or hr/ + lr/ pairs; no data: procedural photos.")
_builtin("single", "translate.data.demos.glyphs:single_bundle", "translate.data.generative:open_single",
         "One folder of images (recursive), for unconditional GANs; no data: the glyph demo.")
_builtin("labelled", "translate.data.demos.glyphs:labelled_bundle", "translate.data.generative:open_labelled",
         "One subfolder per class (names sorted into info['class_names']); no data: the glyph demo.")
_builtin("two_folders", "translate.data.demos.glyphs:two_domain_bundle", "translate.data.generative:open_two_folders",
         "Two unpaired domains: --data A --data-b B, or A/ B/ (trainA/ trainB/); no data: glyphs vs inverted glyphs.")

__all__ = ["DATA_KINDS", "DataBundle", "open_data", "register_data_kind", "resolve_path"]
