"""Which int8 recipe keeps the picture, and how fast is it? (prints figures; not a test)

    python benchmarks/quantize.py --model runs/cyc9 --model srresnet --calibrate photos/calib --eval photos/eval

For each model (a run, weights file, or `resnet_9blocks` / `srresnet` for the full-size
architecture at its N(0, 0.02) initialisation) the fp32 ONNX graph is exported once, then each
recipe is quantized (calibrated on --calibrate), and measured on the --eval images (256² crops
of natural photos): mean and worst PSNR of the int8 output against the fp32 output, and the
median and best time per image of fp32 and int8 onnxruntime, interleaved, same threads.
The speed-up is over the fp32 graph as exported (with the exact rewrites of
translate/inference/rewrites.py); `×plain` is over the fp32 graph without them.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from machine import isa_line, machine_line  # noqa: E402

from translate.inference import quantize as Q  # noqa: E402
from translate.inference.export import onnx_bytes  # noqa: E402
from translate.inference.sources import load_source  # noqa: E402

RECIPES = {
    "R0 all ops (onnxruntime defaults + per-channel)": None,
    "R1 conv-only, minmax": Q.Recipe(method="minmax", keep_fp32=(), equalize=False),
    "R2 conv-only, last conv fp32": Q.Recipe(method="minmax", keep_fp32=("last",), equalize=False),
    "R3 percentile 99.999, last fp32, not equalized": Q.Recipe(keep_fp32=("last",), equalize=False),
    "R3e R3 + channels equalized before IN": Q.Recipe(keep_fp32=("last",)),
    "R3a R3e, all int8": Q.Recipe(keep_fp32=()),
    "R3f R3e + first conv fp32": Q.Recipe(keep_fp32=("first", "last")),
    "R3w R3e with 8-bit weights (saturates without VNNI)": Q.Recipe(keep_fp32=("last",), reduce_range=False),
    "R3u R3e as uint8×uint8 (u8u8 kernels)": Q.Recipe(keep_fp32=("last",), weights="uint8", reduce_range=False),
    "R3c R3e, entropy": Q.Recipe(method="entropy", keep_fp32=("last",)),
    "R5 R3 + ConvTranspose as Conv+DepthToSpace": Q.Recipe(subpixel=True, keep_fp32=("last",), equalize=False),
    "R5e R5 + channels equalized before IN": Q.Recipe(subpixel=True, keep_fp32=("last",)),
    "R5a R5e, all int8": Q.Recipe(subpixel=True, keep_fp32=()),
}


def model_of(spec: str) -> tuple[str, object]:
    if spec in ("resnet_9blocks", "srresnet"):
        from translate.inference.translator import Model, Translator
        from translate.meta import ModelSpec, TranslatorMeta
        from translate.nets import build_net, init_weights

        torch.manual_seed(0)
        if spec == "srresnet":
            net, meta = init_weights(build_net("srresnet")), TranslatorMeta.image(3, 3, (0.0, 1.0), (-1.0, 1.0), 1, 4)
        else:
            net, meta = init_weights(build_net("resnet_9blocks")), TranslatorMeta.image(size_multiple=4)
        model_spec = ModelSpec(spec, {"G": meta}, arch={"name": spec, "kwargs": {}})
        return f"{spec} (init)", Model(spec, "official", {"G": Translator("G", meta, None, spec, net.eval())}, model_spec)
    return spec, load_source(spec)


def all_ops(fp32: bytes, images: list[np.ndarray]) -> bytes:
    """onnxruntime's defaults (every supported op, per-tensor activations) but per-channel weights."""
    import tempfile

    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "a.onnx", Path(tmp) / "b.onnx"
        src.write_bytes(fp32)
        reader = type("R", (Q._Reader, CalibrationDataReader), {})("image", images)
        quantize_static(str(src), str(out), reader, quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=True)
        return out.read_bytes()


def timed(sessions: dict[str, object], images: list[np.ndarray], rounds: int) -> dict[str, list[float]]:
    """Seconds per image of each session, rounds interleaved (so a change of load hits all alike)."""
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for _ in range(rounds):
        for key, sess in sessions.items():
            for im in images:
                t0 = time.perf_counter()
                sess.run(None, {"image": im[None]})
                times[key].append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--calibrate", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--count", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--time-images", type=int, default=4, help="eval images in the timing loop")
    ap.add_argument("--recipe", action="append", help="only these recipes (name prefixes, e.g. R2)")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    import onnxruntime as ort

    print(machine_line())
    print(isa_line())
    opts = ort.SessionOptions()
    if a.threads:
        opts.intra_op_num_threads = a.threads
    for spec in a.model:
        label, model = model_of(spec)
        name = next(iter(model.translators))
        meta = model.translators[name].meta
        calib = Q.calibration_images(a.calibrate, meta, a.count)[0]
        held = Q.calibration_images(a.eval, meta, 10_000)[0]
        fp32 = onnx_bytes(model, [name])
        base = ort.InferenceSession(fp32, opts, providers=["CPUExecutionProvider"])
        plain = ort.InferenceSession(onnx_bytes(model, [name], rewrite=False), opts, providers=["CPUExecutionProvider"])
        out = base.get_outputs()[0].name
        ref = [base.run([out], {"image": im[None]})[0] for im in held]
        span = meta.out_range[1] - meta.out_range[0]
        shape = "×".join(map(str, held[0].shape))
        print(f"\n{label}: calibrated on {len(calib)} images, scored on {len(held)} ({shape}), "
              f"onnxruntime {ort.__version__}")
        print(f"  {'recipe':<50}{'PSNR dB':>9}{'worst':>7}{'int8 ms':>9}{'fp32 ms':>9}{'speed-up':>10}{'×plain':>8}  int8 kernels")
        for rname, recipe in RECIPES.items():  # (all but R0 rewrite PRelu, zero biases before IN)
            if a.recipe and not any(rname.startswith(p) for p in a.recipe):
                continue
            t0 = time.perf_counter()
            q = all_ops(fp32, calib) if recipe is None else Q.quantize(fp32, calib, recipe)[0]
            qs = ort.InferenceSession(q, opts, providers=["CPUExecutionProvider"])
            scores = [Q.psnr(qs.run([out], {"image": im[None]})[0], r, span) for im, r in zip(held, ref)]
            t = timed({"int8": qs, "fp32": base, "plain": plain}, held[: a.time_images], a.rounds)
            med8, med32, medp = (statistics.median(t[k]) for k in ("int8", "fp32", "plain"))
            kernels = Q.int8_kernels(q, a.threads)
            k = ", ".join(f"{op} {n}" for op, n in sorted(kernels.items()) if op.startswith(("QLinear", "Conv")))
            print(f"  {rname:<50}{np.mean(scores):>9.2f}{min(scores):>7.1f}{1000 * med8:>9.0f}{1000 * med32:>9.0f}"
                  f"{med32 / med8:>9.2f}×{medp / med8:>7.2f}×  {k} (quantized in {time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\nload after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
