"""`translate eval`: score a super-resolution model against bicubic; print a table, write JSON."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from translate.cli.app import app


@app.command(
    "eval",
    help=(
        "Super-resolution quality: PSNR-Y / SSIM-Y (crop = scale) of MODEL and of bicubic upscaling "
        "on folders of HR images (or hr/ + lr/ pairs), one row per image set."
    ),
)
def eval_cmd(
    model: str = typer.Argument(..., help="a run directory, checkpoint, .safetensors (+ .json) or .onnx"),
    data: list[str] = typer.Option(..., "--data", "-d", help="folder of HR test images; repeatable; subfolders = sets"),
    out: Optional[Path] = typer.Option(None, "--out", help="JSON report path (default: RUN/eval.json)"),
    direction: Optional[str] = typer.Option(None, "--direction", help="which translator (default: the first)"),
    crop: Optional[int] = typer.Option(None, "--crop", help="border pixels ignored (default: the scale)"),
    backend: str = typer.Option("auto", "--backend", help="torch or onnx (auto: onnx for .onnx files)"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps"),
    plugin: list[str] = typer.Option([], "--plugin", help="load a plugin .py file first (repeatable)"),
) -> None:
    from rich.console import Console
    from rich.table import Table

    from translate.metrics.sr import default_report_path, evaluate_sr, write_report

    results, report = evaluate_sr(model, list(data), direction, backend, device, crop, plugin)
    table = Table(title=f"×{report['scale']} {report['metric']}, crop {report['crop']}")
    for column in ("set", "images", "bicubic PSNR-Y", "model PSNR-Y", "gain dB", "bicubic SSIM-Y", "model SSIM-Y"):
        table.add_column(column, justify="left" if column == "set" else "right")
    for r in results:
        table.add_row(r.name, str(r.count), f"{r.psnr_y_bicubic:.2f}", f"{r.psnr_y:.2f}", f"{r.gain:+.2f}",
                      f"{r.ssim_y_bicubic:.4f}", f"{r.ssim_y:.4f}")
    Console().print(table)
    path = write_report(report, out or default_report_path(model))
    typer.echo(f"report: {path}")
