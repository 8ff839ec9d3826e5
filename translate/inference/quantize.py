"""Static int8 ONNX generators that keep the picture (onnxruntime.quantization, QDQ format).

The recipe, chosen by measurement (benchmarks/quantize.py; figures in the README):

1. `quant_pre_process` (constant folding, Conv+BatchNorm fusion, shape inference);
2. exact fp32 rewrites that make quantization kinder: a single-slope PRelu becomes LeakyRelu
   (which then runs as QLinearLeakyRelu), the bias of a Conv feeding InstanceNorm is zeroed
   (InstanceNorm removes per-channel offsets anyway, and the per-tensor range shrinks), and
   that Conv's output channels are scaled to one range on the calibration images
   (InstanceNorm removes per-channel scale too; `equalize_before_instancenorm`), so the
   per-tensor uint8 output no longer starves its narrow channels;
3. only Conv (SRResNet also LeakyRelu and DepthToSpace) is quantized: uint8 activations
   (asymmetric), int8 per-channel symmetric weights in 7 bits (reduce_range: x86 CPUs without
   VNNI add uint8×int8 pairs in int16, which full 8-bit weights saturate), calibrated
   on the user's photos with the 99.999th percentile of each activation (MinMax and Entropy on
   request); the last convolution (the one that paints the picture, before Tanh) stays fp32;
   InstanceNorm, ConvTranspose, Pad, Tanh and residual adds stay fp32 — the CPU provider has no
   int8 kernel for most of them, and Q/DQ around them costs accuracy for nothing; a ConvTranspose
   goes int8 as Conv + DepthToSpace where that is judged worth it on the exporting CPU (VNNI:
   unet_256 ~1.6× faster; AVX2: no gain, so kept);
4. consumers that stay fp32 read the fp32 tensor, not DQ(Q(x)), and the unused Q/DQ go; the
   SpaceToDepth/DepthToSpace around a kept convolution (the export's half-resolution rewrite of
   the last one, translate/inference/rewrites.py) stay fp32 with it.

The model's metadata records `quantization`: dtype, format, calibration (method, images,
where from), kept-fp32 nodes, the measured agreement with fp32 and the CPU it was measured on
(`judged_on`: its int8 kernel kind, vnni or avx2, and flags); loading it on another kind says so.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from translate.errors import ConfigError
from translate.inference.calibration import calibration_images  # noqa: F401 - part of this module's API
from translate.inference.int8_graph import (
    _layout_neighbours,
    convtranspose_to_subpixel,
    equalize_before_instancenorm,
    float_consumers_read_float,
    prelu_to_leakyrelu,
    zero_bias_before_instancenorm,
)

METHODS = ("minmax", "percentile", "entropy")


@dataclass
class Recipe:
    method: str = "percentile"  # calibration: minmax, percentile, entropy
    percentile: float = 99.999
    # "first", "last" (convolutions), node names, or "auto": every conv in int8 when that keeps
    # AUTO_FLOOR dB on the judged images, else the last one in fp32 (`quantize_judged`)
    keep_fp32: tuple[str, ...] = ("auto",)
    ops: tuple[str, ...] = ("Conv", "LeakyRelu", "DepthToSpace")  # the op types quantized (where present)
    # rewrite up-sampling ConvTranspose as Conv + DepthToSpace, which then runs in int8: on a VNNI CPU
    # unet_256 2.0× instead of 1.3× at 49 dB, CycleGAN 2.6× instead of 2.2× but 36 dB instead of 48
    # (its pre-InstanceNorm output is per-tensor uint8); without VNNI no faster. "auto": quantize_judged
    # builds both and ships the sub-pixel one when it keeps AUTO_FLOOR dB and is AUTO_GAIN× faster
    # on the CPU judging; `quantize` alone reads "auto" as off
    subpixel: bool | str = "auto"
    # weights: "int8" (u8s8 kernels) or "uint8" (u8u8); reduce_range: 7-bit int8 weights, so that
    # the int16 pair sums of the AVX2 u8s8 kernels (no VNNI) cannot saturate: the same graph keeps its
    # quality on every x86 CPU (without it: 26 instead of 35 dB on AVX2 for the tests' model)
    weights: str = "int8"
    reduce_range: bool = True
    # scale the channels of each conv feeding InstanceNorm to one range first (exact up to IN's
    # eps; equalize_before_instancenorm), so their per-tensor uint8 output loses less
    equalize: bool = True
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "ops": list(self.ops), "keep_fp32": list(self.keep_fp32),
                               "subpixel": self.subpixel, "weights": self.weights, "reduce_range": self.reduce_range,
                               "equalize": self.equalize}
        if self.method == "percentile":
            out["percentile"] = self.percentile
        return out


class _Reader:
    """Calibration batches: one preprocessed image at a time, as inference feeds them."""

    def __init__(self, name: str, images: list[np.ndarray]) -> None:
        self.name, self.images = name, images
        self.rewind()

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter({self.name: im[None].astype(np.float32)} for im in self.images)

    def __len__(self) -> int:
        return len(self.images)

    def set_range(self, start: int, end: int) -> None:
        self._it = iter({self.name: im[None].astype(np.float32)} for im in self.images[start:end])


@contextlib.contextmanager
def _quantizer_output() -> Iterator[None]:
    """onnxruntime's quantizer prints its progress ("Collecting tensor data and making histogram
    ...") to stdout: those lines become debug log records (shown with -v, never with -q), and any
    error inside it becomes one line."""
    import io
    import logging

    from translate.errors import TranslateError
    from translate.files import first_line

    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            yield
    except TranslateError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever onnxruntime raises, the user gets one line
        raise TranslateError(f"int8 quantization failed in onnxruntime: {type(err).__name__}: {first_line(err)}") from None
    finally:
        log = logging.getLogger("translate")
        for line in buf.getvalue().splitlines():
            if line.strip():
                log.debug(f"onnxruntime: {line}")


def quantize(fp32: bytes, calibration: list[np.ndarray], recipe: Recipe | None = None) -> tuple[bytes, dict[str, Any]]:
    """(int8 ONNX bytes, what was done) from an fp32 image-translator graph with input "image";
    `calibration`: NCHW-ready float32 CHW arrays in the net's input range."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    recipe = recipe or Recipe(keep_fp32=("last",))
    if recipe.subpixel == "auto":
        recipe = dataclasses.replace(recipe, subpixel=False)
    if recipe.method not in METHODS:
        raise ConfigError(f"unknown calibration '{recipe.method}'; use {', '.join(METHODS)}")
    if not calibration:
        raise ConfigError("int8 quantization needs calibration images (--calibrate FOLDER)")
    reader = type("Reader", (_Reader, CalibrationDataReader), {})("image", calibration)
    with tempfile.TemporaryDirectory() as tmp:
        src, pre, out = Path(tmp) / "fp32.onnx", Path(tmp) / "pre.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(fp32)
        with _quantizer_output():
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        model = zero_bias_before_instancenorm(prelu_to_leakyrelu(onnx.load(str(pre))))
        equalized = equalize_before_instancenorm(model, calibration)[1] if recipe.equalize else 0
        if recipe.subpixel:
            model = convtranspose_to_subpixel(model)
        convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
        if "auto" in recipe.keep_fp32:
            raise ConfigError("keep_fp32='auto' is decided by quantize_judged (it needs images to judge by)")
        keep = {convs[0] if k == "first" else convs[-1] if k == "last" else k for k in recipe.keep_fp32 if convs}
        keep |= _layout_neighbours(model, keep)
        present = {n.op_type for n in model.graph.node}
        ops = tuple(op for op in recipe.ops if op in present)
        onnx.save(model, str(pre))
        method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                  "entropy": CalibrationMethod.Entropy}[recipe.method]
        extra: dict[str, Any] = {"ActivationSymmetric": False, "WeightSymmetric": True}
        if recipe.method == "percentile":
            extra.update(CalibPercentile=recipe.percentile, CalibTensorRangeSymmetric=False)
        with _quantizer_output():
            quantize_static(str(pre), str(out), reader, quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8 if recipe.weights == "int8" else QuantType.QUInt8,
                            per_channel=True, reduce_range=recipe.reduce_range, op_types_to_quantize=list(ops),
                            nodes_to_exclude=sorted(keep), calibrate_method=method, extra_options=extra)
        quantized = float_consumers_read_float(onnx.load(str(out)), ops, keep)
        data = quantized.SerializeToString()
    counts = collections.Counter(n.op_type for n in quantized.graph.node)
    info = {"dtype": "int8", "format": "QDQ", "activations": "uint8 asymmetric",
            "weights": f"{recipe.weights} per-channel symmetric" + (", 7-bit" if recipe.reduce_range else ""),
            "calibration": {**recipe.describe(), "images": len(calibration)}, "kept_fp32": sorted(keep),
            "quantized_ops": list(ops), "equalized_convs": equalized, "nodes": {k: counts[k] for k in ("QuantizeLinear", "DequantizeLinear")}}
    return data, info


AUTO_FLOOR = 40.0  # dB of mean PSNR to the fp32 output that an all-int8 model must keep to be chosen
AUTO_GAIN = 1.05  # and how much faster than the one with the last conv in fp32 (else: a tie, keep quality)


def quantize_judged(fp32: bytes, calibration: list[np.ndarray], judge: list[np.ndarray], meta: Any,
                    recipe: Recipe | None = None) -> tuple[bytes, dict[str, Any], dict[str, float]]:
    """(int8 bytes, what was done, its agreement with fp32 on `judge`), deciding keep_fp32="auto"
    and subpixel="auto". The convolution that paints the picture costs CycleGAN ~8 dB in int8 and
    no time (it is slower there), SRResNet ~1.3 dB for 1.3× speed; ConvTranspose as an int8
    sub-pixel conv costs unet_256 3 dB for 1.6× on a VNNI CPU and nothing gained on AVX2
    (benchmarks/quantize.py). So the candidates are built and judged together, interleaved, on this
    CPU: all-int8 is shipped only when it keeps AUTO_FLOOR dB and is clearly (AUTO_GAIN×) faster
    than the last conv in fp32, and the sub-pixel form of the last-conv-fp32 model likewise."""
    recipe = recipe or Recipe()
    auto_keep, auto_sub = "auto" in recipe.keep_fp32, recipe.subpixel == "auto"
    if auto_sub and not _has_convtranspose(fp32):
        recipe, auto_sub = dataclasses.replace(recipe, subpixel=False), False
    if not auto_keep and not auto_sub:
        data, info = quantize(fp32, calibration, recipe)
        return data, _judged_here(info), agreement(fp32, [data], judge, meta)[0]
    rest = tuple(k for k in recipe.keep_fp32 if k != "auto")
    plain = dataclasses.replace(recipe, subpixel=False) if auto_sub else recipe
    kept_recipe = dataclasses.replace(plain, keep_fp32=rest + (("last",) if auto_keep else ()))
    candidates = {"kept": kept_recipe}
    if auto_keep:
        candidates["all"] = dataclasses.replace(plain, keep_fp32=rest)
    if auto_sub:
        candidates["subpixel"] = dataclasses.replace(kept_recipe, subpixel=True)
    built = {name: quantize(fp32, calibration, r) for name, r in candidates.items()}
    scores = dict(zip(built, agreement(fp32, [b[0] for b in built.values()], judge, meta)))

    def worth(name: str, than: str) -> bool:
        s, base = scores[name], scores[than]
        return s["psnr_vs_fp32"] >= AUTO_FLOOR and s["speedup_vs_fp32"] >= AUTO_GAIN * base["speedup_vs_fp32"]

    def tried(name: str, than: str, what: str, other: str) -> str:
        s, base = scores[name], scores[than]
        why = ("" if worth(name, than) else f" (< {AUTO_FLOOR:g} dB)" if s["psnr_vs_fp32"] < AUTO_FLOOR
               else f" (not {AUTO_GAIN:g}× the {base['speedup_vs_fp32']:.2f}× of {other})")
        return f"{what}: {s['psnr_vs_fp32']:.1f} dB, {s['speedup_vs_fp32']:.2f}×{why}"

    chosen, said = "kept", []
    if auto_keep:
        said.append(tried("all", "kept", "every convolution in int8", "the last conv in fp32"))
        if worth("all", "kept"):
            chosen = "all"
    if auto_sub:
        said.append(tried("subpixel", chosen, "ConvTranspose as int8 sub-pixel conv", "ConvTranspose in fp32"))
        if worth("subpixel", chosen):
            chosen = "subpixel"
    outcome = {"all": "every convolution int8", "kept": "the last convolution stays fp32" if auto_keep else "as asked",
               "subpixel": "ConvTranspose as sub-pixel conv" + (", the last convolution fp32" if auto_keep else "")}
    data, info = built[chosen]
    info["auto"] = "; ".join(said) + f": {outcome[chosen]}"
    if auto_keep:
        info["calibration"]["keep_fp32"] = ["auto"]
    return data, _judged_here(info), scores[chosen]


def _has_convtranspose(model: bytes) -> bool:
    import onnx

    return any(n.op_type == "ConvTranspose" for n in onnx.load_from_string(model).graph.node)


def _judged_here(info: dict[str, Any]) -> dict[str, Any]:
    """Record the CPU the agreement and speed were measured on (its int8 kernels decide both)."""
    from translate.inference import cpu

    info["judged_on"] = {"int8_kernels": cpu.int8_kind(), "cpu_flags": cpu.flags(), "cpu": cpu.name()}
    return info


def cpu_note(quantization: dict[str, Any]) -> str | None:
    """One line when an int8 model runs on a CPU kind it was not judged on (else None)."""
    from translate.inference import cpu

    here = cpu.int8_kind()
    judged = quantization.get("judged_on", {}).get("int8_kernels")
    if judged is None:  # exported before the CPU was recorded: u8s8 with 8-bit weights, judged on VNNI
        if here == "avx2" and not quantization.get("calibration", {}).get("reduce_range"):
            return ("this int8 model has 8-bit weights (exported by an older version) and this CPU has no VNNI: its "
                    "convolutions can saturate here; re-export it with --quantize int8")
        return None
    if judged == here:
        return None
    psnr = quantization.get("psnr_vs_fp32")
    there = f" ({psnr:.1f} dB to fp32 there)" if isinstance(psnr, (int, float)) else ""
    return (f"this int8 model was judged on a CPU with {judged} int8 kernels{there}; this one has {here}: its quality "
            f"and speed here were not measured (re-export it here with --quantize int8 to measure them)")


def int8_kernels(model: bytes | str, threads: int = 0) -> collections.Counter:
    """Op types of the graph onnxruntime actually runs (after its QDQ fusions): QLinearConv etc."""
    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        opts = ort.SessionOptions()
        opts.optimized_model_filepath = str(Path(tmp) / "opt.onnx")
        if threads:
            opts.intra_op_num_threads = threads
        ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        return collections.Counter(n.op_type for n in onnx.load(opts.optimized_model_filepath).graph.node)


def psnr(a: np.ndarray, b: np.ndarray, span: float) -> float:
    """PSNR (dB) of `a` to `b`, values spanning `span` (the output range's width)."""
    return float(10 * np.log10(1.0 / max(float((((a - b) / span) ** 2).mean()), 1e-12)))


def agreement(fp32: bytes, int8s: list[bytes], images: list[np.ndarray], meta: Any,
              repeats: int = 3) -> list[dict[str, float]]:
    """For each int8 model: PSNR of its outputs to the fp32 ones (mean and worst over `images`, in
    dB) and its speed-up (fp32 time / its time, best of `repeats` runs over the images; fp32 and
    every model interleaved in each run, so their speed-ups compare)."""
    import time

    import onnxruntime as ort

    sessions = [ort.InferenceSession(m, providers=["CPUExecutionProvider"]) for m in (fp32, *int8s)]
    out_name = sessions[0].get_outputs()[0].name
    span = meta.out_range[1] - meta.out_range[0]
    outputs: list[list[np.ndarray]] = []
    best = [float("inf")] * len(sessions)
    for r in range(repeats):
        for k, sess in enumerate(sessions):
            t0 = time.perf_counter()
            outs = [sess.run([out_name], {"image": im[None]})[0] for im in images]
            best[k] = min(best[k], time.perf_counter() - t0)
            if r == 0:
                outputs.append(outs)
    report = []
    for k in range(1, len(sessions)):
        scores = [psnr(a, b, span) for a, b in zip(outputs[k], outputs[0])]
        report.append({"psnr_vs_fp32": float(np.mean(scores)), "psnr_vs_fp32_min": float(np.min(scores)),
                       "speedup_vs_fp32": best[0] / best[k], "images_measured": len(images)})
    return report
