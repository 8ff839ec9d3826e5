"""Export translators: ONNX (dynamic batch/height/width, metadata, onnxruntime parity check)
and safetensors (+ a small JSON sidecar saying how to rebuild the architecture).

ONNX graphs: an image translator takes `image` [N, C, H, W] and returns one output named
after the translator; noise translators take `z` [N, z_dim] (and `label` [N] int64 when
conditional) and return one output per translator, so a CoGAN pair shares one z. The
translate JSON (variant, config or architecture, per-translator meta) is stored in the
model's metadata_props under "translate".

torch 2.14's exporter: `dynamo=True` (the default; torch.export based) gives truly dynamic
H/W for ReflectionPad/InstanceNorm nets at opset 18 — it cannot target 17 (no Pad
down-converter) — but takes seconds per export; the TorchScript exporter (`dynamo=False`)
is deprecated but fast, and is the fallback when the dynamo path fails.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from translate.inference import tiling
from translate.errors import ConfigError, TranslateError
from translate.files import atomic_write, first_line
from translate.meta import ModelSpec
from translate.inference.sources import load_source, sidecar_path, translator_state
from translate.inference.translator import Model

OPSET = 18
EXPORTERS = ("dynamo", "torchscript")


@dataclass
class ExportResult:
    """Where the export went and how closely onnxruntime matches torch (max |Δ| per check)."""

    paths: list[Path]
    translators: list[str]
    parity: dict[str, float] = field(default_factory=dict)
    exporter: str = ""
    notes: list[str] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)  # int8: speed-up and PSNR against fp32
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # int8: calibration files skipped (file, reason)


class _ImageGraph(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)


class _NoiseGraph(nn.Module):
    def __init__(self, nets: list[nn.Module]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(net(z) for net in self.nets)


class _ConditionalNoiseGraph(_NoiseGraph):
    def forward(self, z: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, ...]:  # type: ignore[override]
        return tuple(net(z, label) for net in self.nets)


def select(loaded: Model, direction: str | None) -> list[str]:
    """Translators that go into one file: the named one; else the first image translator, or
    every noise translator sharing the first one's inputs (CoGAN pairs)."""
    names = list(loaded.metas)
    if direction is not None:
        if direction not in loaded.metas:
            raise ConfigError(f"{loaded.source} has no direction '{direction}'; it has: {', '.join(names)}")
        return [direction]
    first = loaded.metas[names[0]]
    if not first.is_noise:
        return names[:1]
    return [n for n in names if (loaded.metas[n].input, loaded.metas[n].z_dim, loaded.metas[n].num_classes)
            == (first.input, first.z_dim, first.num_classes)]


def _graph(loaded: Model, names: list[str]) -> tuple[nn.Module, tuple, dict, list[str]]:
    """The module to export, example inputs, dynamic shapes, input names."""
    meta = loaded.metas[names[0]]
    nets = [loaded.nets[n].eval() for n in names]
    gen = torch.Generator().manual_seed(0)
    if meta.is_noise:
        z = torch.randn(2, meta.z_dim, generator=gen)
        if meta.num_classes:
            label = torch.tensor([0, 1 % meta.num_classes])
            return _ConditionalNoiseGraph(nets), (z, label), {"z": {0: "batch"}, "label": {0: "batch"}}, ["z", "label"]
        return _NoiseGraph(nets), (z,), {"z": {0: "batch"}}, ["z"]
    m = meta.size_multiple
    side = tiling.padded_size(32, m, 4 * m)
    image = torch.rand(2, meta.in_channels, side, side + m, generator=gen) * 2 - 1
    axes = {0: "batch", 2: "height", 3: "width"}
    return _ImageGraph(nets[0]), (image,), {"image": axes}, ["image"]


def _to_onnx(graph: nn.Module, args: tuple, axes: dict, inputs: list[str], outputs: list[str], exporter: str,
             opset: int) -> tuple[bytes, str, list[str]]:
    notes: list[str] = []
    if exporter == "dynamo":
        D = torch.export.Dim.DYNAMIC
        shapes = {name: {dim: D for dim in dims} for name, dims in axes.items()}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                program = torch.onnx.export(graph, args, None, dynamo=True, verbose=False, input_names=inputs,
                                            output_names=outputs, opset_version=opset, dynamic_shapes=shapes)
            return program.model_proto.SerializeToString(), "dynamo", notes
        except Exception as err:  # an op the dynamo path cannot handle: fall back
            notes.append(f"dynamo exporter failed ({first_line(err)}); used the TorchScript exporter")
    buf = io.BytesIO()
    dyn = {name: dict(dims) for name, dims in axes.items()}
    first_out = next(iter(axes.values()))
    dyn.update({o: dict(first_out) if inputs == ["image"] else {0: "batch"} for o in outputs})
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, args, buf, dynamo=False, input_names=inputs, output_names=outputs,
                          opset_version=opset, dynamic_axes=dyn)
    return buf.getvalue(), "torchscript", notes


def _with_metadata(model: bytes, spec: ModelSpec) -> bytes:
    import onnx

    proto = onnx.load_from_string(model)
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, {"translate": spec.to_json()})
    proto.doc_string = f"translate: {spec.variant} {', '.join(spec.translators)}"
    return proto.SerializeToString()


def _sub_spec(loaded: Model, names: list[str]) -> ModelSpec:
    """The spec of `names`, with provenance: how the weights were trained (if known) and exported."""
    from translate.jobs.provenance import record

    spec = loaded.spec.subset([n for n in names if n in loaded.spec.translators])
    spec.translators = {n: loaded.metas[n] for n in names}
    exported = {k: v for k, v in record().items() if k in ("translate", "torch", "python", "host", "command", "time")}
    spec.extra["provenance"] = {**spec.extra.get("provenance", {}), "exported": exported, "source": loaded.source}
    return spec


def onnx_bytes(loaded: Model, names: list[str] | None = None, exporter: str = "dynamo", opset: int = OPSET,
               rewrite: bool = True) -> bytes:
    """An in-memory ONNX model (with metadata) of `names` (default: every translator of one kind);
    `rewrite=False`: without the exact speed rewrites (benchmarks compare both)."""
    names = names or select(loaded, None)
    graph, args, axes, inputs = _graph(loaded, names)
    model, _, _ = _to_onnx(graph, args, axes, inputs, names, exporter, opset)
    model, rewritten = _faster(model, loaded, names, inputs) if rewrite else (model, [])
    spec = _sub_spec(loaded, names)
    if rewritten:
        spec.extra["rewrites"] = rewritten
    return _with_metadata(model, spec)


def _faster(model: bytes, loaded: Model, names: list[str], inputs: list[str]) -> tuple[bytes, list[str]]:
    """Image graphs get the exact speed rewrites of translate/inference/rewrites.py."""
    if inputs != ["image"]:
        return model, []
    from translate.inference import rewrites

    meta = loaded.metas[names[0]]
    return rewrites.faster(model, meta.in_channels, meta.size_multiple)


def export_onnx(source: Any, path: str | Path, direction: str | None = None, *, variant: str | None = None,
                plugins: Sequence[str] = (), exporter: str = "dynamo", opset: int = OPSET,
                check: bool = True, quantize: str | None = None, calibrate: str | Path | None = None,
                recipe: Any = None, calibrate_count: int = 16, test_mode: str | None = None) -> ExportResult:
    """Write an ONNX file (dynamic batch, H, W) and, with `check`, compare onnxruntime to torch.

    `test_mode`: "eval" exports running BatchNorm statistics without dropout; the default, for
    nets that have a paper test mode, exports the paper's test time (see translate.nets.unet).

    `quantize="int8"`: a static int8 model calibrated on up to `calibrate_count` images of the
    folder `calibrate` (translate/inference/quantize.py); its speed-up over the fp32 graph and its
    PSNR to the fp32 output, measured on up to 8 other images of the folder (the calibration
    images when there are no others), go into `result.quality` and its metadata."""
    if exporter not in EXPORTERS:
        raise ConfigError(f"unknown exporter '{exporter}'; use {' or '.join(EXPORTERS)}")
    if opset < 17:
        raise ConfigError(f"opset {opset} is too old: use 17 or newer (default {OPSET})")
    if quantize not in (None, "int8"):
        raise ConfigError(f"unknown --quantize '{quantize}'; use int8")
    from translate.inference.translator import apply_test_mode

    # nets with a paper test mode (pix2pix) are exported in one mode, recorded in the metadata:
    # the paper's (per-image statistics, dropout on with position-hashed masks) unless --eval
    fresh = not isinstance(source, Model)
    loaded = apply_test_mode(as_model(source, variant, plugins), test_mode or ("paper" if fresh else None))
    names = select(loaded, direction)
    graph, args, axes, inputs = _graph(loaded, names)
    model, used, notes = _to_onnx(graph, args, axes, inputs, names, exporter, opset)
    model, rewritten = _faster(model, loaded, names, inputs)
    spec = _sub_spec(loaded, names)
    if rewritten:
        spec.extra["rewrites"] = rewritten
    result = ExportResult([], names, exporter=used, notes=notes)
    if quantize:
        from translate.inference import quantize as Q

        meta = loaded.metas[names[0]]
        if meta.is_noise:
            raise ConfigError("int8 export is for image translators (convert); noise generators stay fp32")
        if calibrate is None:
            raise ConfigError("--quantize int8 needs --calibrate FOLDER: a few of your own photos")
        images, held = Q.calibration_images(calibrate, meta, calibrate_count, held_out=8, skipped=result.skipped)
        model, info, score = Q.quantize_judged(model, images, held or images, meta, recipe)
        if "auto" in info:
            result.notes.append(f"int8 recipe: {info['auto']}")
        result.quality = {**score, "scored_on": "held-out images" if held else "calibration images (no others in the folder)"}
        spec.extra["quantization"] = {**info, "calibrated_on": str(calibrate), **result.quality}
        check = False  # parity with torch is the fp32 graph's; the int8 one is judged by `quality`
    out = atomic_write(Path(path), _with_metadata(model, spec))
    result.paths = [out]
    if check:
        result.parity = parity(loaded, names, out)
    return result


def parity(loaded: Model, names: list[str], onnx_file: str | Path) -> dict[str, float]:
    """Max |Δ| between onnxruntime and torch: random input, and the demo image (another size)."""
    from translate.inference.backends import onnx_session

    session = onnx_session(str(onnx_file), "cpu")
    meta = loaded.metas[names[0]]
    gen = np.random.default_rng(0)
    cases: dict[str, dict[str, np.ndarray]] = {}
    if meta.is_noise:
        nc = meta.num_classes
        feed = {"z": gen.standard_normal((3, meta.z_dim)).astype(np.float32)}
        if nc:
            feed["label"] = (np.arange(3) % nc).astype(np.int64)
        cases["random z"] = feed
    else:
        lo, hi = meta.in_range
        m, c = meta.size_multiple, meta.in_channels
        side = tiling.padded_size(24, m, 2 * m)
        rand = gen.uniform(lo, hi, (2, c, side + m, side)).astype(np.float32)
        demo = demo_image(61, 83)[..., :c].transpose(2, 0, 1)[None].astype(np.float32) * ((hi - lo) / 255) + lo
        demo = tiling.pad_to(demo, tiling.padded_size(61, m, 2 * m), tiling.padded_size(83, m, 2 * m))
        cases = {"random input": {"image": rand}, "demo image": {"image": demo.astype(np.float32)}}
    result = {}
    for label, feed in cases.items():
        onnx_out = session.run(names, feed)
        with torch.inference_mode():
            args = [torch.from_numpy(feed[k]) for k in ("image", "z", "label") if k in feed]
            torch_out = [loaded.nets[n].eval()(*args).float().numpy() for n in names]
        result[label] = max(float(np.abs(a - b).max()) for a, b in zip(onnx_out, torch_out))
    return result


def export_safetensors(source: Any, path: str | Path, direction: str | None = None, *, variant: str | None = None,
                       plugins: Sequence[str] = ()) -> ExportResult:
    """Write `path` (.safetensors) and its JSON sidecar (`path` with .json)."""
    from safetensors.torch import save

    loaded = as_model(source, variant, plugins)
    names = select(loaded, direction)
    spec = _sub_spec(loaded, names)
    spec.extra.pop("test_mode", None)  # weights files have no test mode: whoever loads them picks one
    # clone: safetensors refuses tensors sharing memory (e.g. CoGAN branches of one coupled net)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in translator_state({n: loaded.nets[n] for n in names}).items()}
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    text = spec.to_json(indent=2)
    weights = atomic_write(path, save(tensors, metadata={"translate": spec.to_json()}))
    side = atomic_write(sidecar_path(path), text.encode())
    return ExportResult([weights, side], names)


def as_model(source: Any, variant: str | None = None, plugins: Sequence[str] = ()) -> Model:
    """A weights path, or a torch-backed `Model`, whose translators hold their torch modules."""
    model = source if isinstance(source, Model) else load_source(source, variant, list(plugins))
    if not model.nets:
        raise TranslateError(f"{model.source} is already an ONNX model; export from the run or weights file instead")
    return model


def demo_image(height: int, width: int) -> np.ndarray:
    """A deterministic HxWx3 uint8 test picture: gradients, a disc and stripes."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 255 * x / max(1, width - 1)
    g = 255 * y / max(1, height - 1)
    disc = ((y - height / 2) ** 2 + (x - width / 3) ** 2) < (min(height, width) / 4) ** 2
    b = np.where(disc, 230.0, 40.0) + 25 * np.sin(x / 3.0)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)
