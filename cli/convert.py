"""`translate convert`, `translate export`, `translate sample`: parse, call translate.*, print."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from translate.cli.app import app, apply_quiet, quiet_option, relaunch

MODEL_HELP = ("a run directory, checkpoint .pt, official CycleGAN .pth, .safetensors (+ .json sidecar), .onnx, "
              "a pretrained model name (`translate models list`) or hf://OWNER/NAME[@REVISION]")


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
    batch_size: int = typer.Option(0, "--batch-size", "-b", help="same-size images per forward pass "
                                   "(0: 4 on a GPU, 1 on the CPU, where batching is slower)"),
    workers: int = typer.Option(2, "--workers", help="decode threads and encode threads"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps"),
    precision: str = typer.Option("fp32", "--precision", help="fp32, bf16, fp16 or auto (bf16 where it is native and fast; torch backend)"),
    backend: str = typer.Option("auto", "--backend", help="torch or onnx (auto: onnx for .onnx files)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="redo outputs that already exist"),
    max_pixels: Optional[int] = typer.Option(None, "--max-pixels", help="refuse images with more pixels (decompression-bomb guard)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="a bar in a terminal, a line every 30 s elsewhere"),
    gallery: bool = typer.Option(False, "--gallery", help="also write OUT/index.html: input | output side by side"),
    gallery_size: int = typer.Option(24, "--gallery-size", help="images on the --gallery page"),
    nproc: int = typer.Option(1, "--nproc", help="processes on this machine (one per GPU where there are GPUs): "
                              "each converts its share of the files (also: torchrun ... -m translate convert ...)"),
    eval_mode: bool = typer.Option(False, "--eval", help="BatchNorm running statistics, no dropout (the reference's "
                                   "--eval); default: the paper's test time for nets that have one (pix2pix)"),
    quiet: bool = quiet_option(),
) -> None:
    import logging

    from translate.files import shown

    from translate import parallel
    from translate.inference.convert import ConvertOptions, ConvertReport, convert
    from translate.inference.loading import open_model

    apply_quiet(quiet)
    relaunch(nproc)
    dist = parallel.init_from_env("cpu", backend="gloo")  # object collectives only: gloo everywhere
    log = logging.getLogger("translate")
    translator = open_model(model, variant, backend, device, precision, plugin,
                            test_mode="eval" if eval_mode else None).pick(direction)
    options = ConvertOptions(ext=ext, quality=quality, tile=tile, overlap=overlap, batch_size=batch_size,
                             workers=workers, overwrite=overwrite, progress=progress)
    if max_pixels is not None:
        options.max_pixels = max_pixels
    log.info(f"{translator.name} ({translator.backend}) {inputs} -> {out}")
    for note in translator.notes:
        log.warning(note)

    def report_file(line: str) -> None:  # failures are warnings (kept by -q), the rest info
        (log.warning if line.startswith(("failed", "refused")) else log.info)(line)

    report = convert(translator, inputs, out, options, log=report_file, rank=dist.rank, world=dist.world_size)
    if dist.enabled:  # rank 0 reports for everyone; every process exits with the combined code
        parts = parallel.gather_to_main(report, dist)
        code = parallel.broadcast_object(0 if parts is None else int(not ConvertReport.merge(parts).ok), dist)
        parallel.shutdown(dist)
        if parts is None:
            raise typer.Exit(parallel.report_result(code))
        report = ConvertReport.merge(parts)
    if gallery and report.pairs:
        from translate.jobs.gallery import write_convert_gallery

        page = write_convert_gallery(report.pairs, out if out.is_dir() else out.parent, f"{Path(model).name}: {inputs}",
                                     gallery_size, Path(inputs))
        log.info(f"gallery: {page}")
    typer.echo(report.summary())
    if report.stages and report.converted:
        n = len(report.converted)
        log.debug("per image: " + ", ".join(f"{k} {v / n:.3f}s" for k, v in report.stages.items())
                  + " (decode/encode in worker threads, overlapping the forward passes)")
    code = 0 if report.ok else 1
    if dist.enabled:
        code = parallel.report_result(code)
    if code:
        raise typer.Exit(code)


@app.command("export", help="Export a generator to ONNX (with a parity check against torch; --quantize int8 for a "
                             "static int8 model calibrated on your photos) or safetensors (+ JSON sidecar).")
def export_cmd(
    model: str = typer.Argument(..., help=MODEL_HELP),
    fmt: str = typer.Option("onnx", "--format", "-f", help="onnx or safetensors"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="output file (default: MODEL-DIRECTION[.int8].onnx|.safetensors)"),
    direction: Optional[str] = typer.Option(None, "--direction", help="which translator (default: the first; noise models: all alike)"),
    variant: Optional[str] = typer.Option(None, "--variant", help="variant of a bare generator file (cyclegan)"),
    plugin: list[str] = typer.Option([], "--plugin", help="load a plugin .py file first (repeatable)"),
    exporter: str = typer.Option("dynamo", "--exporter", help="dynamo (torch.export) or torchscript (legacy, faster)"),
    opset: int = typer.Option(18, "--opset", help="ONNX opset (17 or newer)"),
    check: bool = typer.Option(True, "--check/--no-check", help="compare onnxruntime with torch after export"),
    tolerance: float = typer.Option(1e-3, "--tolerance", help="largest acceptable max |Δ| of the parity check"),
    quantize: Optional[str] = typer.Option(None, "--quantize", help="int8: static int8 ONNX (onnxruntime), calibrated"),
    calibrate: Optional[Path] = typer.Option(None, "--calibrate", help="folder of your photos to calibrate int8 on"),
    calibrate_count: int = typer.Option(16, "--calibrate-count", help="calibration images (spread over the folder)"),
    calibration: str = typer.Option("percentile", "--calibration", help="percentile (99.999th), minmax or entropy"),
    keep_fp32: list[str] = typer.Option([], "--keep-fp32", help="convolutions kept in fp32: first, last, a node name, "
                                        "none, or auto (default: all int8 if that is 1.05× faster and keeps 40 dB to fp32 on "
                                        "your photos, else the last conv, the one that paints the picture, stays fp32)"),
    eval_mode: bool = typer.Option(False, "--eval", help="BatchNorm running statistics, no dropout (the reference's "
                                   "--eval); default: the paper's test time for nets that have one (pix2pix)"),
    quiet: bool = quiet_option(),
) -> None:
    import logging

    from translate.files import shown

    from translate.errors import ConfigError, TranslateError
    from translate.inference import export as E

    apply_quiet(quiet)

    if fmt not in ("onnx", "safetensors"):
        raise ConfigError(f"unknown --format '{fmt}'; use onnx or safetensors")
    loaded = E.as_model(model, variant, plugin)
    names = E.select(loaded, direction)
    if output is None:
        stem = Path(model.rstrip("/")).stem or "model"
        output = Path(f"{stem}-{'-'.join(names)}{'.int8' if quantize else ''}.{fmt}")
    if fmt == "safetensors":
        result = E.export_safetensors(loaded, output, direction)
    else:
        recipe = None
        if quantize:
            from translate.inference.quantize import Recipe

            keep = tuple(k for k in keep_fp32 if k != "none") if keep_fp32 else Recipe.keep_fp32
            recipe = Recipe(method=calibration, keep_fp32=keep)
        result = E.export_onnx(loaded, output, direction, exporter=exporter, opset=opset, check=check,
                               quantize=quantize, calibrate=calibrate, recipe=recipe, calibrate_count=calibrate_count,
                               test_mode="eval" if eval_mode else "paper")
    for path, reason in result.skipped:  # as convert reports them
        logging.getLogger("translate").info(f"skipped {shown(str(path))}: {shown(reason)}")
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    from translate.hub.card import write_beside

    card = write_beside(loaded, result.paths, result.translators)
    typer.echo(f"exported {', '.join(result.translators)} -> {', '.join(str(p) for p in result.paths)}"
               + (f" ({result.exporter} exporter)" if result.exporter else "") + f"; model card {card}")
    for case, diff in result.parity.items():
        typer.echo(f"  parity onnxruntime vs torch, {case}: max |Δ| = {diff:.2e}")
    if result.quality:
        q = result.quality
        typer.echo(f"  int8 vs fp32 onnxruntime on {q['images_measured']} {q['scored_on']}: "
                   f"{q['speedup_vs_fp32']:.2f}× faster, PSNR {q['psnr_vs_fp32']:.1f} dB (worst {q['psnr_vs_fp32_min']:.1f})")
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
    eval_mode: bool = typer.Option(False, "--eval", help="BatchNorm running statistics, no dropout (the reference's "
                                   "--eval); default: the paper's test time for nets that have one (pix2pix)"),
) -> None:
    from translate.inference.sample import sample
    from translate.inference.loading import open_model

    paths = sample(open_model(model, None, backend, device, "fp32", plugin, test_mode="eval" if eval_mode else None),
                   out, n, label, seed, separate, direction)
    typer.echo(f"wrote {paths[0]}" if len(paths) == 1 else f"wrote {len(paths)} images to {out}")
