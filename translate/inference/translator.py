"""A trained generator as a callable *translator*: weights + the pre/post-processing it needs.

    t = translate.load("runs/h2z")              # or a .pt/.pth, .safetensors (+ .json), .onnx
    out = t(Image.open("horse.jpg"))             # full resolution: reflect-pad, translate, crop back

Image translators honour their meta: input/output channels, value ranges (in and out may
differ, e.g. super-resolution: [0, 1] in, [-1, 1] out), the size multiple the net needs,
and the output `scale`. Large images go through overlapping, smoothly blended tiles.
Noise translators (`meta.input == "noise"`) sample from z (and a class label).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from translate.inference import tiling
from translate.errors import ConfigError, DataError
from translate.meta import ModelSpec, TranslatorMeta
from translate.inference.backends import LazyRunner, OnnxRunner, Runner, TorchRunner, onnx_session
from translate.inference.sources import Loaded, load_source

DEFAULT_TILE = 1024  # input pixels per side (divided by the scale for super-resolution)


@dataclass
class Translator:
    """One generator and its meta; call it on images (or `sample` noise translators)."""

    name: str
    meta: TranslatorMeta
    runner: Runner
    source: str = ""
    module: Any = None  # the torch module when torch-backed (what `export` exports)

    def __post_init__(self) -> None:
        self.meta = TranslatorMeta.from_dict(self.meta, f"translator '{self.name}'")  # a dict is checked too

    @property
    def kind(self) -> str:
        return self.meta.input

    @property
    def backend(self) -> str:
        return self.runner.backend

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

    def _forward_images(self, batch: np.ndarray) -> np.ndarray:
        return self.runner({"image": np.ascontiguousarray(batch, dtype=np.float32)})

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
        y = self.runner(inputs)
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
    """Every translator one weights source provides, plus how to rebuild it (for export)."""

    source: str
    kind: str
    translators: dict[str, Translator]
    spec: ModelSpec | None = None

    def pick(self, direction: str | None = None) -> Translator:
        """The translator named `direction` (default: the variant's first, e.g. AtoB)."""
        if direction is None:
            return next(iter(self.translators.values()))
        if direction not in self.translators:
            raise ConfigError(f"{self.source} has no direction '{direction}'; it has: {', '.join(self.translators)}")
        return self.translators[direction]


def open_model(
    source: str | Path,
    variant: str | None = None,
    backend: str = "auto",
    device: str = "auto",
    precision: str = "fp32",
    plugins: Sequence[str] = (),
    threads: int = 0,
) -> Model:
    """Load every translator of `source` on the chosen backend ("auto": ONNX files run on
    onnxruntime, everything else on torch; "onnx" exports torch weights on the fly)."""
    if backend not in ("auto", "torch", "onnx"):
        raise ConfigError(f"unknown backend '{backend}'; use torch or onnx")
    loaded = load_source(source, variant, list(plugins))
    if loaded.kind == "onnx":
        if backend == "torch":
            raise ConfigError(f"{source} is an ONNX model: run it with --backend onnx (or convert from the weights)")
        session = onnx_session(loaded.onnx_path or "", device, precision, threads)
        return _model(loaded, {n: OnnxRunner(session, n) for n in loaded.metas})
    if backend == "onnx":  # export each translator when it is first used, run it on onnxruntime
        from translate.inference.export import onnx_bytes

        if precision != "fp32":
            raise ConfigError(f"--precision {precision} is for the torch backend; ONNX models run in fp32")

        def runner(name: str) -> Runner:
            def build() -> Runner:
                model = onnx_bytes(loaded.nets, loaded.metas, loaded.spec, [name])
                return OnnxRunner(onnx_session(model, device, precision, threads), name)

            return LazyRunner("onnx", build)

        return _model(loaded, {n: runner(n) for n in loaded.metas}, keep_modules=True)
    return _model(loaded, {n: TorchRunner(net, device, precision) for n, net in loaded.nets.items()}, keep_modules=True)


def _model(loaded: Loaded, runners: dict[str, Runner], keep_modules: bool = False) -> Model:
    translators = {
        name: Translator(name, meta, runners[name], loaded.source, loaded.nets.get(name) if keep_modules else None)
        for name, meta in loaded.metas.items()
    }
    return Model(loaded.source, loaded.kind, translators, loaded.spec)


def load(
    source: str | Path,
    direction: str | None = None,
    *,
    variant: str | None = None,
    backend: str = "auto",
    device: str = "auto",
    precision: str = "fp32",
    plugins: Sequence[str] = (),
) -> Translator:
    """One translator from a run dir, checkpoint, safetensors(+json), official `.pth` or `.onnx`."""
    return open_model(source, variant, backend, device, precision, plugins).pick(direction)


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
