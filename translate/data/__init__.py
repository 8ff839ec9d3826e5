"""Datasets by kind: a folder (or catalog name) or, with no data, the built-in demo.

A kind declares what its items hold — `DataKind.keys`, each key with its value range — so a
variant knows what `train_step` gets without reading the loader:

    unpaired     {"A", "B"} images in [-1, 1], drawn independently (CycleGAN, DiscoGAN)
    paired       {"A", "B"} images in [-1, 1], aligned: the same scene, the same crop and flip (pix2pix)
    sr           {"lr", "hr"} images in [-1, 1], hr `scale`× larger (SRGAN)
    noise        {"image"} in [-1, 1]: what a noise-driven GAN learns to generate (earlier name: single)
    labelled     {"image"} in [-1, 1], {"label"} an integer class in [0, classes)
    two_folders  {"A", "B"} images in [-1, 1], two unpaired folders (CoGAN)

Variants name the kind they train on (`Variant.data`); plugins register new kinds with
``@register_data_kind("name", keys={"x": (-1.0, 1.0)})`` on a function
``(data, cfg, **options) -> DataBundle``. The data never changes the config: what it decides
(class names) goes into `DataBundle.info`, and the variant's `settle(cfg, info)` turns it into
config before the nets are built.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translate.data.bundle import DataBundle, resolve_path
from translate.errors import DataError
from translate.registry import Registry, current_source

IMAGE = (-1.0, 1.0)  # the range every image of every kind arrives in
Range = tuple[float, float] | None  # None: not an image (a class label: checked by its kind)


@dataclass(frozen=True)
class DataKind:
    """A dataset kind: its name, the keys of its items with their value ranges, and its opener."""

    name: str
    opener: Callable[..., DataBundle]
    keys: Mapping[str, Range] = field(default_factory=dict)  # empty: undeclared (a 0.x plugin's kind)
    doc: str = ""

    def open(self, data: str | Path | None, cfg: Any, **options: Any) -> DataBundle:
        return self.opener(data, cfg, **options)

    def check_item(self, item: Any, where: str = "") -> None:
        """One line if `item` lacks a declared key or holds values outside its declared range."""
        if not self.keys:
            return
        at = f" ({where})" if where else ""
        if not isinstance(item, Mapping):
            raise DataError(f"the '{self.name}' data must give dicts with keys {', '.join(self.keys)}{at}")
        for key, rng in self.keys.items():
            if key not in item:
                raise DataError(f"the '{self.name}' data declares key '{key}' but an item has only "
                                f"{', '.join(map(str, item))}{at}")
            if rng is not None:
                lo, hi = float(item[key].min()), float(item[key].max())
                if lo < rng[0] - 1e-6 or hi > rng[1] + 1e-6:
                    raise DataError(f"the '{self.name}' data's '{key}' holds values in [{lo:.3g}, {hi:.3g}], "
                                    f"outside its declared range [{rng[0]:g}, {rng[1]:g}]{at}")


DATA_KINDS: Registry[DataKind] = Registry("dataset kind")


def register_data_kind(name: str | None = None, keys: Mapping[str, Range] | None = None) -> Callable[[Any], Any]:
    """Decorator on `(data, cfg, **options) -> DataBundle`: a dataset kind named `name`."""

    def deco(fn: Callable[..., DataBundle]) -> Callable[..., DataBundle]:
        kind = name or fn.__name__
        DATA_KINDS.add(kind, DataKind(kind, fn, dict(keys or {}), (fn.__doc__ or "").strip()),
                       source=current_source(getattr(fn, "__module__", "?")))
        return fn

    return deco


def data_kind(name: str) -> DataKind:
    return DATA_KINDS.get(name)


def open_data(kind: str, data: str | Path | None, cfg: Any, **options: Any) -> DataBundle:
    return data_kind(kind).open(data, cfg, **options)


def _call(target: str, *args: Any, **kwargs: Any) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args, **kwargs)


def _builtin(kind: str, demo: str, folder: str, doc: str, keys: Mapping[str, Range]) -> None:
    """A kind whose demo and folder readers live in their own modules (imported when used)."""

    def open_kind(data: str | Path | None, cfg: Any, **options: Any) -> DataBundle:
        if data is None:
            return _call(demo, cfg, **options)
        return _call(folder, resolve_path(data), cfg, **options)

    open_kind.__doc__ = doc
    DATA_KINDS.add(kind, DataKind(kind, open_kind, dict(keys), doc), source="translate.data")


_builtin("unpaired", "translate.data.demos.apples:demo_bundle", "translate.data.unpaired:open_folders",
         "Two unpaired domains trainA/ trainB/ (testA/ testB/) or A/ B/; no data: apples→oranges.",
         {"A": IMAGE, "B": IMAGE})
_builtin("paired", "translate.data.demos.apples:paired_bundle", "translate.data.paired:open_paired",
         "Aligned pairs: train/ (val/, test/) of A|B side-by-side images, or A/ B/ of same-named files; "
         "no data: apple label maps → rendered scenes.", {"A": IMAGE, "B": IMAGE})
_builtin("sr", "translate.data.demos.sr_photos:demo_bundle", "translate.data.sr:open_sr",
         "Super-resolution: HR photos (LR by bicubic downscaling) or hr/ + lr/ pairs; no data: procedural photos.",
         {"lr": IMAGE, "hr": IMAGE})
_builtin("noise", "translate.data.demos.glyphs:single_bundle", "translate.data.generative:open_single",
         "One folder of images (recursive), for unconditional GANs; no data: the glyph demo.", {"image": IMAGE})
DATA_KINDS.add("single", DATA_KINDS.get("noise"), source="translate.data")  # the kind's name in earlier versions
_builtin("labelled", "translate.data.demos.glyphs:labelled_bundle", "translate.data.generative:open_labelled",
         "One subfolder per class (names sorted into info['class_names']); no data: the glyph demo.",
         {"image": IMAGE, "label": None})
_builtin("two_folders", "translate.data.demos.glyphs:two_domain_bundle", "translate.data.generative:open_two_folders",
         "Two unpaired domains: --data A --data-b B, or A/ B/ (trainA/ trainB/); no data: glyphs vs inverted glyphs.",
         {"A": IMAGE, "B": IMAGE})

__all__ = ["DATA_KINDS", "IMAGE", "DataBundle", "DataKind", "data_kind", "open_data", "register_data_kind",
           "resolve_path"]
