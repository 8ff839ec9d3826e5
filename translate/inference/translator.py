"""A trained generator as a callable *translator*: weights + the pre/post-processing it needs.

    t = translate.load("runs/h2z")              # or a .pt/.pth, .safetensors (+ .json), .onnx
    out = t(Image.open("horse.jpg"))             # full resolution: reflect-pad, translate, crop back

Image translators honour their meta: input/output channels, value ranges (in and out may
differ, e.g. super-resolution: [0, 1] in, [-1, 1] out), the size multiple the net needs,
and the output `scale`. Large images go through overlapping, smoothly blended tiles.
Noise translators (`meta.input == "noise"`) sample from z (and a class label).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from translate.inference import tiling
from translate.errors import ConfigError, DataError
from translate.meta import ModelSpec, TranslatorMeta
from translate.inference.backends import Runner

DEFAULT_TILE = 1024  # input pixels per side (divided by the scale for super-resolution)


@dataclass
class Translator:
    """One generator and its meta; call it on images (or `sample` noise translators)."""

    name: str
    meta: TranslatorMeta
    runner: Runner | None  # None until placed on a back end (open_model)
    source: str = ""
    module: Any = None  # the torch module when torch-backed (what `export` exports)

    def __post_init__(self) -> None:
        self.meta = TranslatorMeta.from_dict(self.meta, f"translator '{self.name}'")  # a dict is checked too

    @property
    def kind(self) -> str:
        return self.meta.input

    @property
    def backend(self) -> str:
        return self.runner.backend if self.runner is not None else "none"

    @property
    def notes(self) -> list[str]:
        """Advice about the chosen backend/precision (e.g. slow bf16 on this CPU)."""
        return list(getattr(self.runner, "notes", []))

    # --- images ------------------------------------------------------------------------
    def __call__(self, image: Any, tile: int | None = None, overlap: int | None = None) -> Any:
        """Translate a PIL image, an HxW(xC) uint8 array, or an image file path.

        Returns a PIL image for PIL/path input, a uint8 array for array input.
        """
        from PIL import Image

        self._need("image")
        if isinstance(image, (str, Path, Image.Image)):
            from translate.inference.image_io import BadImage, decode, to_mode

            if isinstance(image, (str, Path)):
                try:
                    arr = decode(Path(image), self.in_channels, int(Image.MAX_IMAGE_PIXELS or 89_478_485)).array
                except BadImage as err:
                    raise DataError(f"cannot translate {image}: {err}") from None
            else:
                arr = np.asarray(to_mode(image, self.in_channels))
            return Image.fromarray(_squeeze(self.translate_batch([arr], tile, overlap)[0]))
        arr = np.asarray(image)
        if arr.dtype != np.uint8:
            raise DataError(f"expected a uint8 image array, got {arr.dtype}")
        return self.translate_batch([arr], tile, overlap)[0]

    @property
    def in_channels(self) -> int:
        return self.meta.in_channels

    @property
    def scale(self) -> int:
        return self.meta.scale

    @property
    def size_multiple(self) -> int:
        return self.meta.size_multiple

    def default_tile(self) -> int:
        return max(self.size_multiple * 2, DEFAULT_TILE // self.scale)

    def translate_batch(
        self, images: list[np.ndarray], tile: int | None = None, overlap: int | None = None, tiles_per_batch: int = 1
    ) -> list[np.ndarray]:
        """Translate same-size HxWxC uint8 arrays at full resolution; returns uint8 arrays.

        Images above `tile` pixels per side are translated in overlapping tiles (`overlap`
        pixels, default tile/8) blended with a smooth window.
        """
        self._need("image")
        x = np.stack([_hwc(a, self.in_channels) for a in images]).transpose(0, 3, 1, 2)
        lo, hi = self.meta.in_range
        x = x.astype(np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)
        height, width = x.shape[-2:]
        m = self.size_multiple
        ph, pw = tiling.padded_size(height, m, 2 * m), tiling.padded_size(width, m, 2 * m)
        x = tiling.pad_to(x, ph, pw)
        tile = tile or self.default_tile()
        s = self.scale
        forward = self._forward_images
        if max(height, width) > tile:
            ov = overlap if overlap is not None else max(m, tile // 8)
            y = np.concatenate([tiling.run_tiled(forward, x[i : i + 1], tile, ov, m, s, tiles_per_batch)
                                for i in range(x.shape[0])])
        else:
            y = forward(x)
        y = y[:, :, : height * s, : width * s]
        return list(_to_uint8(y, self.meta.out_range).transpose(0, 2, 3, 1))

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        if self.runner is None:
            raise ConfigError(f"translator '{self.name}' is not on a back end: open it with translate.load(...)")
        return self.runner(inputs)

    def _forward_images(self, batch: np.ndarray) -> np.ndarray:
        return self._run({"image": np.ascontiguousarray(batch, dtype=np.float32)})

    # --- noise -------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return self.meta.num_classes

    @property
    def class_names(self) -> list[str]:
        return list(self.meta.class_names)

    def generate(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """Images [N, H, W, C] uint8 from z [N, z_dim] (and int labels [N] when conditional)."""
        self._need("noise")
        inputs = {"z": np.ascontiguousarray(z, dtype=np.float32)}
        if self.num_classes:
            if labels is None:
                raise ConfigError(f"translator '{self.name}' is class-conditional: give labels (0..{self.num_classes - 1})")
            inputs["label"] = np.asarray(labels, dtype=np.int64)
        y = self._run(inputs)
        return _to_uint8(y, self.meta.out_range).transpose(0, 2, 3, 1)

    def label_index(self, label: str | int) -> int:
        """A class index from an index or a class name."""
        names = self.class_names
        text = str(label)
        if text in names:
            return names.index(text)
        if text.lstrip("-").isdigit() and 0 <= int(text) < self.num_classes:
            return int(text)
        known = f"names: {', '.join(names)}" if names else f"indices 0..{self.num_classes - 1}"
        raise ConfigError(f"unknown label '{label}' for '{self.name}'; use {known}")

    def _need(self, kind: str) -> None:
        if self.kind != kind:
            hint = "use `translate sample`" if self.kind == "noise" else "use `translate convert`"
            raise ConfigError(f"translator '{self.name}' takes {self.kind} input, not {kind}: {hint}")


@dataclass
class Model:
    """Every translator one weights source provides, and how to rebuild them (its spec).

    `load_source` gives a Model whose translators hold their torch modules (or, for ONNX files,
    the file path); `open_model` places them on a back end (torch or onnxruntime)."""

    source: str
    kind: str  # "checkpoint", "safetensors", "official", "onnx"
    translators: dict[str, Translator]
    spec: ModelSpec | None = None
    onnx_path: str | None = None

    @property
    def metas(self) -> dict[str, TranslatorMeta]:
        return {n: t.meta for n, t in self.translators.items()}

    @property
    def nets(self) -> dict[str, Any]:
        """Translator name -> torch module (empty for ONNX files)."""
        return {n: t.module for n, t in self.translators.items() if t.module is not None}

    def pick(self, direction: str | None = None) -> Translator:
        """The translator named `direction` (default: the variant's first, e.g. AtoB)."""
        if direction is None:
            return next(iter(self.translators.values()))
        if direction not in self.translators:
            raise ConfigError(f"{self.source} has no direction '{direction}'; it has: {', '.join(self.translators)}")
        return self.translators[direction]


# --- array helpers --------------------------------------------------------------------------
def _hwc(arr: np.ndarray, channels: int) -> np.ndarray:
    """HxW or HxWxC uint8 -> HxWx`channels` (gray <-> RGB, alpha dropped)."""
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[-1] == 4:
        arr = arr[..., :3]
    if arr.shape[-1] == 2:
        arr = arr[..., :1]
    if arr.shape[-1] == channels:
        return arr
    if channels == 1:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.clip(arr.astype(np.float32) @ weights + 0.5, 0, 255).astype(np.uint8)[..., None]
    return np.repeat(arr, channels, axis=-1)


def _to_uint8(y: np.ndarray, out_range: list[float]) -> np.ndarray:
    lo, hi = (float(v) for v in out_range)
    return np.clip((y - lo) * (255.0 / (hi - lo)) + 0.5, 0, 255).astype(np.uint8)


def _squeeze(arr: np.ndarray) -> np.ndarray:
    return arr[..., 0] if arr.ndim == 3 and arr.shape[-1] == 1 else arr
