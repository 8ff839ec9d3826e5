"""`translate convert`, `translate export`, `translate sample`: parse, call translate.*, print."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from translate.cli.app import app, apply_quiet, quiet_option

MODEL_HELP = "a run directory, checkpoint .pt, official CycleGAN .pth, .safetensors (+ .json sidecar) or .onnx"


@app.command("convert", help="Translate a folder of images (or one image) into OUT, mirroring the tree, at full resolution.")
def convert_cmd(
    model: str = typer.Argument(..., help=MODEL_HELP),
    inputs: Path = typer.Argument(..., help="input folder (searched recursively) or one image file"),
    out: Path = typer.Argument(..., help="output folder (or an image file name for a single input)"),
    direction: Optional[str] = typer.Option(None, "--direction", help="which translator: AtoB (default: the first), BtoA, ..."),
    variant: Optional[str] = typer.Option(None, "--variant", help="variant of a bare generator file (cyclegan)"),
    plugin: list[str] = typer.Option([], "--plugin", help="load a plugin .py file first (repeatable)"),
    ext: Optional[str] = typer.Option(None, "--ext", help="output format png, jpg or webp (default: the input's)"),
    quality: int = typer.Option(95, "--quality", help="JPEG/WebP quality, 1-100"),
    tile: Optional[int] = typer.Option(None, "--tile", help="translate images larger than this many pixels per side in tiles (default 1024, /scale for super-resolution)"),
    overlap: Optional[int] = typer.Option(None, "--overlap", help="tile overlap in pixels (default tile/8)"),
    batch_size: int = typer.Option(4, "--batch-size", "-b", help="same-size images per forward pass"),
    workers: int = typer.Option(2, "--workers", help="decode threads and encode threads"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps"),
    precision: str = typer.Option("fp32", "--precision", help="fp32, bf16 or fp16 (torch backend)"),
    backend: str = typer.Option("auto", "--backend", help="torch or onnx (auto: onnx for .onnx files)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="redo outputs that already exist"),
    max_pixels: Optional[int] = typer.Option(None, "--max-pixels", help="refuse images with more pixels (decompression-bomb guard)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="a bar in a terminal, a line every 30 s elsewhere"),
    gallery: bool = typer.Option(False, "--gallery", help="also write OUT/index.html: input | output side by side"),
    gallery_size: int = typer.Option(24, "--gallery-size", help="images on the --gallery page"),
    quiet: bool = quiet_option(),
) -> None:
    import logging

    from translate.inference.convert import ConvertOptions, convert
    from translate.inference.loading import open_model

    apply_quiet(quiet)
    log = logging.getLogger("translate")
    translator = open_model(model, variant, backend, device, precision, plugin).pick(direction)
    options = ConvertOptions(ext=ext, quality=quality, tile=tile, overlap=overlap, batch_size=batch_size,
                             workers=workers, overwrite=overwrite, progress=progress)
    if max_pixels is not None:
        options.max_pixels = max_pixels
    log.info(f"{translator.name} ({translator.backend}) {inputs} -> {out}")
    for note in translator.notes:
        log.warning(note)

    def report_file(line: str) -> None:  # failures are warnings (kept by -q), the rest info
        (log.warning if line.startswith(("failed", "refused")) else log.info)(line)

    report = convert(translator, inputs, out, options, log=report_file)
    if gallery and report.pairs:
        from translate.gallery import write_convert_gallery

        page = write_convert_gallery(report.pairs, out if out.is_dir() else out.parent, f"{Path(model).name}: {inputs}",
                                     gallery_size)
        log.info(f"gallery: {page}")
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@app.command("export", help="Export a generator to ONNX (with a parity check against torch) or safetensors (+ JSON sidecar).")
def export_cmd(
    model: str = typer.Argument(..., help=MODEL_HELP),
    fmt: str = typer.Option("onnx", "--format", "-f", help="onnx or safetensors"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="output file (default: MODEL-DIRECTION.onnx|.safetensors)"),
    direction: Optional[str] = typer.Option(None, "--direction", help="which translator (default: the first; noise models: all alike)"),
    variant: Optional[str] = typer.Option(None, "--variant", help="variant of a bare generator file (cyclegan)"),
    plugin: list[str] = typer.Option([], "--plugin", help="load a plugin .py file first (repeatable)"),
    exporter: str = typer.Option("dynamo", "--exporter", help="dynamo (torch.export) or torchscript (legacy, faster)"),
    opset: int = typer.Option(18, "--opset", help="ONNX opset (17 or newer)"),
    check: bool = typer.Option(True, "--check/--no-check", help="compare onnxruntime with torch after export"),
    tolerance: float = typer.Option(1e-3, "--tolerance", help="largest acceptable max |Δ| of the parity check"),
) -> None:
    from translate.inference import export as E
    from translate.errors import ConfigError, TranslateError

    if fmt not in ("onnx", "safetensors"):
        raise ConfigError(f"unknown --format '{fmt}'; use onnx or safetensors")
    loaded = E.as_model(model, variant, plugin)
    names = E.select(loaded, direction)
    if output is None:
        stem = Path(model.rstrip("/")).stem or "model"
        output = Path(f"{stem}-{'-'.join(names)}.{fmt}")
    if fmt == "safetensors":
        result = E.export_safetensors(loaded, output, direction)
    else:
        result = E.export_onnx(loaded, output, direction, exporter=exporter, opset=opset, check=check)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"exported {', '.join(result.translators)} -> {', '.join(str(p) for p in result.paths)}"
               + (f" ({result.exporter} exporter)" if result.exporter else ""))
    for case, diff in result.parity.items():
        typer.echo(f"  parity onnxruntime vs torch, {case}: max |Δ| = {diff:.2e}")
    worst = max(result.parity.values(), default=0.0)
    if worst > tolerance:
        raise TranslateError(f"ONNX parity check failed: max |Δ| {worst:.2e} > {tolerance:g}; try --exporter torchscript")


@app.command("sample", help="Sample a noise-driven generator into a grid PNG (or single PNGs with --separate).")
def sample_cmd(
    model: str = typer.Argument(..., help=MODEL_HELP),
    out: Path = typer.Argument(..., help="grid image file (or folder with --separate)"),
    n: int = typer.Option(64, "-n", help="number of samples (conditional grids: per class n // classes)"),
    label: Optional[str] = typer.Option(None, "--label", help="class index or name (conditional models)"),
    seed: int = typer.Option(0, "--seed", help="random seed of z"),
    separate: bool = typer.Option(False, "--separate", help="write single PNGs into the folder OUT"),
    direction: Optional[str] = typer.Option(None, "--direction", help="one translator (default: every noise translator, side by side)"),
    plugin: list[str] = typer.Option([], "--plugin", help="load a plugin .py file first (repeatable)"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps"),
    backend: str = typer.Option("auto", "--backend", help="torch or onnx (auto: onnx for .onnx files)"),
) -> None:
    from translate.inference.sample import sample
    from translate.inference.loading import open_model

    paths = sample(open_model(model, None, backend, device, "fp32", plugin), out, n, label, seed, separate, direction)
    typer.echo(f"wrote {paths[0]}" if len(paths) == 1 else f"wrote {len(paths)} images to {out}")
