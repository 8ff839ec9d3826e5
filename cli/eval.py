"""`translate eval`: score a trained model; print a table, write RUN/eval.json, update the gallery."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from translate.cli.app import app, apply_quiet, quiet_option


@app.command(
    "eval",
    help=(
        "Score a model. Translators (AtoB, BtoA): FID/KID of each direction on held-out testA/ testB/ "
        "(the run's data, or --data) next to the do-nothing baseline; --truth when the target folder holds the true "
        "translations (same names): PSNR/SSIM (+ LPIPS). Noise generators: FID/KID of samples vs the training images. "
        "Super-resolution: PSNR-Y/SSIM-Y vs bicubic per image set (--data). Inception-v3 weights come from a local file."
    ),
)
def eval_cmd(
    model: str = typer.Argument(..., help="a run directory, checkpoint, .safetensors (+ .json), .onnx, a pretrained name or hf://OWNER/NAME"),
    data: list[str] = typer.Option([], "--data", "-d", help="held-out data (default: the run's); SR: HR image folders, repeatable"),
    truth: bool = typer.Option(False, "--truth", help="the target folder holds true translations under the same names"),
    set_: list[str] = typer.Option([], "--set", "-s", help="inception_weights=PATH, lpips_weights=PATH, max_images=N, ..."),
    out: Optional[Path] = typer.Option(None, "--out", help="JSON report path (default: RUN/eval.json)"),
    direction: Optional[str] = typer.Option(None, "--direction", help="one translator only"),
    backend: str = typer.Option("auto", "--backend", help="torch or onnx (auto: onnx for .onnx files)"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps"),
    plugin: list[str] = typer.Option([], "--plugin", help="load a plugin .py file first (repeatable)"),
    quiet: bool = quiet_option(),
) -> None:
    import logging

    from rich.console import Console
    from rich.table import Table

    from translate import config as C
    from translate.jobs.evaluate import evaluate
    from translate.jobs.gallery import explain
    from translate.metrics.sr import default_report_path, write_report

    apply_quiet(quiet)
    sets = C.parse_sets(set_)
    where = data if len(data) > 1 else (data[0] if data else None)
    report = evaluate(model, where, truth, sets, backend=backend, device=device, plugins=plugin, direction=direction)
    table = Table(title=f"{report['kind']} — {report.get('data', '')}", title_justify="left")
    table.add_column("figure", no_wrap=True, style="bold")
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("what it is", overflow="fold", ratio=1)
    for key, value in report["figures"].items():
        table.add_row(key, f"{value:.4g}", explain(key, report.get("explanations")))
    Console().print(table)
    for note in report.get("notes", []):
        logging.getLogger("translate").warning(note)
    path = write_report(report, out or default_report_path(model))
    _publish(model, report)
    typer.echo(f"report: {path}")


def _publish(model: str, report: dict) -> None:
    """A run's figures also go to its gallery and TensorBoard."""
    from translate.jobs.rundir import RunDir

    run = RunDir(model)
    if not Path(model).is_dir() or not run.exists():
        return
    from translate.jobs.gallery import write_run_gallery

    write_run_gallery(run)
    latest = run.latest_checkpoint()
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # pragma: no cover - tensorboard is a dependency
        return
    step = RunDir.step_of(latest) if latest else 0
    with SummaryWriter(log_dir=str(run.tensorboard_dir)) as tb:
        for key, value in report["figures"].items():
            tb.add_scalar(f"eval/{key}", float(value), step)
