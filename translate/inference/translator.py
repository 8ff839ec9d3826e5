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
        """Translate at full resolution; the result has the kind of the input:

        - a PIL image or an image file path -> a PIL image;
        - a uint8 array HxW, HxWxC, or a batch NxHxWxC -> uint8 arrays of the same layout;
          with transparency (RGBA, LA, a palette's: HxWx4 / HxWx2 arrays too) the colours are
          translated composited onto white and the alpha comes back beside them, as convert writes it;
        - a float tensor CxHxW or NxCxHxW in [0, 1] (the torch convention) -> a float tensor in
          [0, 1], same layout, on the input's device;
        - a list of any of these -> a list.

            t = translate.load("runs/h2z")
            zebra = t(Image.open("horse.jpg"))
            batch = t(torch.rand(4, 3, 256, 256))      # [4, 3, 256, 256] in [0, 1]
        """
        from PIL import Image, ImageOps

        self._need("image")
        if isinstance(image, (list, tuple)):
            return [self(item, tile, overlap) for item in image]
        if isinstance(image, (str, Path, Image.Image)):
            from translate.inference.image_io import BadImage, alpha_of, decode, to_mode, with_alpha

            if isinstance(image, (str, Path)):
                try:
                    dec = decode(Path(image), self.in_channels, int(Image.MAX_IMAGE_PIXELS or 89_478_485))
                except BadImage as err:
                    raise DataError(f"cannot translate {image}: {err}") from None
                arr, alpha = dec.array, dec.alpha
            else:
                arr, alpha = np.asarray(to_mode(image, self.in_channels)), alpha_of(ImageOps.exif_transpose(image))
            return with_alpha(self.translate_batch([arr], tile, overlap)[0], alpha)
        if _is_tensor(image):
            return self._tensor(image, tile, overlap)
        if not isinstance(image, np.ndarray):
            raise TypeError(f"translator '{self.name}' takes a PIL image, an image path, a uint8 array (HxW, HxWxC or "
                            f"NxHxWxC), a float tensor (CxHxW or NxCxHxW in [0, 1]) or a list of these; got "
                            f"{type(image).__name__}")
        if image.dtype != np.uint8:
            raise ValueError(f"translator '{self.name}' takes uint8 arrays (0..255), got {image.dtype}; for floats in "
                             "[0, 1] pass a torch tensor CxHxW/NxCxHxW")
        if image.ndim in (3, 4) and image.shape[-1] in (2, 4):  # with alpha: as the image it is
            if image.ndim == 4:
                return np.stack([self(a, tile, overlap) for a in image])
            return np.asarray(self(Image.fromarray(image, "LA" if image.shape[-1] == 2 else "RGBA"), tile, overlap))
        if image.ndim == 4:
            return np.stack(self.translate_batch(list(image), tile, overlap))
        if image.ndim not in (2, 3):
            raise ValueError(f"translator '{self.name}' takes HxW, HxWxC or NxHxWxC arrays, got shape {image.shape}")
        return self.translate_batch([image], tile, overlap)[0]

    def _tensor(self, x: Any, tile: int | None, overlap: int | None) -> Any:
        """A float tensor CxHxW / NxCxHxW in [0, 1] through the net; returned the same way."""
        import torch

        if x.dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64) or x.dim() not in (3, 4):
            raise ValueError(f"translator '{self.name}' takes float tensors CxHxW or NxCxHxW in [0, 1], got "
                             f"{x.dtype} with shape {tuple(x.shape)}")
        batch = x if x.dim() == 4 else x[None]
        if batch.shape[1] != self.in_channels:
            raise ValueError(f"translator '{self.name}' takes {self.in_channels}-channel images, got {batch.shape[1]}")
        lo, hi = self.meta.in_range
        y = self.translate_float(batch.detach().float().cpu().numpy() * (hi - lo) + lo, tile, overlap)
        lo, hi = self.meta.out_range
        out = torch.from_numpy(np.clip((y - lo) / (hi - lo), 0.0, 1.0)).to(device=x.device, dtype=x.dtype)
        return out if x.dim() == 4 else out[0]

    @property
    def in_channels(self) -> int:
        return self.meta.in_channels

    @property
    def scale(self) -> int:
        return self.meta.scale

    @property
    def size_multiple(self) -> int:
        return self.meta.size_multiple

    @property
    def accelerated(self) -> bool:
        """Whether the generator runs on a GPU (or another accelerator) rather than the CPU."""
        return bool(getattr(self.runner, "accelerated", False))

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
        y = self.translate_float(x, tile, overlap, tiles_per_batch)
        return list(_to_uint8(y, self.meta.out_range).transpose(0, 2, 3, 1))

    def translate_float(self, x: np.ndarray, tile: int | None = None, overlap: int | None = None,
                        tiles_per_batch: int = 1) -> np.ndarray:
        """NxCxHxW float32 in the net's input range -> its output (out range, `scale`× larger),
        reflect-padded to the size multiple and cropped back; tiled above `tile` pixels per side."""
        x = np.ascontiguousarray(x, dtype=np.float32)
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
        return y[:, :, : height * s, : width * s]

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
def _is_tensor(value: Any) -> bool:
    """A torch tensor, recognised without importing torch (the ONNX path stays torch-free)."""
    return type(value).__module__.startswith("torch") and hasattr(value, "dim")


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


def apply_test_mode(model: Model, mode: str | None) -> Model:
    """Put the translators' test-time BatchNorm/dropout in `mode` ("paper" or "eval"); an ONNX
    file keeps the mode it was exported in, so asking it for another is a one-line error."""
    if mode is None:
        return model
    if mode not in ("paper", "eval"):
        raise ConfigError(f"unknown test mode '{mode}'; use paper or eval")
    if model.kind == "onnx":
        baked = model.spec.extra.get("test_mode")
        if baked is not None and baked != mode:
            flag = "with --eval" if mode == "eval" else "without --eval"
            raise ConfigError(f"{model.source} was exported in the {baked} test mode: export it again {flag}")
        return model
    from translate.nets import has_test_modes, set_test_mode  # torch: not needed for ONNX files

    for t in model.translators.values():
        if t.module is not None and has_test_modes(t.module):
            set_test_mode(t.module, mode)
            model.spec.extra["test_mode"] = mode
    return model
