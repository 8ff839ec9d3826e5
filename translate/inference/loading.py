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
from translate.inference.translator import Model, Translator


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
    model = load_source(source, variant, list(plugins))
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
) -> Translator:
    """One translator from a run dir, checkpoint, safetensors(+json), official `.pth` or `.onnx`."""
    return open_model(source, variant, backend, device, precision, plugins).pick(direction)
