"""Opening a model on a back end: `translate.load(...)` and `open_model(...)`.

    t = translate.load("runs/h2z")              # or a .pt/.pth, .safetensors (+ .json), .onnx
    out = t(Image.open("horse.jpg"))             # full resolution: reflect-pad, translate, crop back
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from translate.errors import ConfigError
from translate.inference.backends import LazyRunner, OnnxRunner, Runner, TorchRunner, onnx_session
from translate.inference.sources import load_source
from translate.inference.translator import Model, Translator, apply_test_mode


def open_model(
    source: str | Path,
    variant: str | None = None,
    backend: str = "auto",
    device: str = "auto",
    precision: str = "fp32",
    plugins: Sequence[str] = (),
    threads: int = 0,
    test_mode: str | None = None,
) -> Model:
    """Load every translator of `source` on the chosen backend ("auto": ONNX files run on
    onnxruntime, everything else on torch; "onnx" exports torch weights on the fly).
    `test_mode` "eval" (`--eval`): running BatchNorm statistics and no dropout in nets that
    have a paper test mode (pix2pix's U-Net); None or "paper": the paper's test time."""
    if backend not in ("auto", "torch", "onnx"):
        raise ConfigError(f"unknown backend '{backend}'; use torch or onnx")
    model = apply_test_mode(load_source(source, variant, list(plugins)), test_mode)
    if model.kind == "onnx":
        if backend == "torch":
            raise ConfigError(f"{source} is an ONNX model: run it with --backend onnx (or convert from the weights)")
        session = onnx_session(model.onnx_path or "", device, precision, threads)
        runners = {n: OnnxRunner(session, n) for n in model.translators}
        quantization = model.spec.extra.get("quantization") if model.spec else None
        if isinstance(quantization, dict):
            from translate.inference.quantize import cpu_note

            note = cpu_note(quantization)
            for r in runners.values():
                r.notes += [note] if note else []
        return _placed(model, runners)
    if backend == "onnx":  # export each translator when it is first used, run it on onnxruntime
        from translate.inference.export import onnx_bytes

        if precision != "fp32":
            raise ConfigError(f"--precision {precision} is for the torch backend; ONNX models run in fp32")

        def runner(name: str) -> Runner:
            def build() -> Runner:
                data = onnx_bytes(model, [name])
                return OnnxRunner(onnx_session(data, device, precision, threads), name)

            return LazyRunner("onnx", build)

        return _placed(model, {n: runner(n) for n in model.translators})
    return _placed(model, {n: TorchRunner(t.module, device, precision) for n, t in model.translators.items()})


def _placed(model: Model, runners: dict[str, Runner]) -> Model:
    for name, t in model.translators.items():
        t.runner = runners[name]
    return model


def load(
    source: str | Path,
    direction: str | None = None,
    *,
    variant: str | None = None,
    backend: str = "auto",
    device: str = "auto",
    precision: str = "fp32",
    plugins: Sequence[str] = (),
    test_mode: str | None = None,
) -> Translator:
    """One translator from a run dir, checkpoint, safetensors(+json), official `.pth` or `.onnx`.

        t = translate.load("runs/h2z")                    # the run's newest checkpoint (EMA weights if kept)
        t = translate.load("h2z.safetensors", "BtoA")     # one direction of a two-way model
        zebra = t(Image.open("horse.jpg"))                # from PIL import Image

    source: a run directory, a training checkpoint (.pt), an exported .safetensors (with its
        .json sidecar), a generator .pth (official CycleGAN/pix2pix files too), or an .onnx file.
    direction: which translator ("AtoB", "BtoA", "G"...); None: the variant's first (e.g. AtoB).
    variant: the variant's name, for a .pth that does not say (e.g. "cyclegan").
    backend: "torch", "onnx" (onnxruntime; .onnx files always) or "auto".
    device: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:N" or "mps".
    precision: "fp32", "bf16" or "fp16" (torch back end).
    plugins: plugin .py files to load first (a model of a single-file variant).
    test_mode: "paper" or "eval" for nets with test-time BatchNorm/dropout (pix2pix); None: the
        model's own default (the paper's; `--eval` on the CLI).

    The translator `t(x)` takes, at full resolution (reflect-padded to the net's size multiple,
    tiled when large), and gives back the same kind:
      - a PIL image, or an image file path -> a PIL image;
      - a uint8 array HxW, HxWxC or a batch NxHxWxC -> uint8 arrays, same layout;
      - a float tensor CxHxW or NxCxHxW in [0, 1] -> a float tensor in [0, 1] on the input's device;
      - a list of any of these -> a list.
    An image with transparency (RGBA, LA, a palette with transparency; HxWx4 arrays) is translated
    composited onto white and keeps its alpha, as `translate convert` writes it. Noise generators
    (gan, cgan, cogan) take `t.generate(z, labels)` instead. Anything else raises a TypeError or
    ValueError naming what is accepted.
    """
    return open_model(source, variant, backend, device, precision, plugins, test_mode=test_mode).pick(direction)
