"""`translate demo`: parse, call translate.app.server.serve, print the address."""
from __future__ import annotations

from typing import Optional

import typer

from translate.cli.app import app
from translate.cli.convert import MODEL_HELP


@app.command("demo", help="Try a model in the browser: a local page to drop photos on, with an API "
                          "(needs Gradio: the demo extra).")
def demo_cmd(
    model: str = typer.Argument(..., help=MODEL_HELP + "; a run directory is watched for newer checkpoints"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (0.0.0.0: every interface)"),
    port: Optional[int] = typer.Option(None, "--port", help="port (default: the first free one from 7860)"),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="open the page in a browser"),
    share: bool = typer.Option(False, "--share", help="also a temporary public link through Gradio's relay"),
    variant: Optional[str] = typer.Option(None, "--variant", help="variant of a bare generator file (cyclegan)"),
    plugin: list[str] = typer.Option([], "--plugin", help="load a plugin .py file first (repeatable)"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps"),
    precision: str = typer.Option("fp32", "--precision", help="fp32, bf16, fp16 or auto (torch back end)"),
    max_pixels: Optional[int] = typer.Option(None, "--max-pixels", help="refuse images with more pixels "
                                             "(decompression-bomb guard; default: convert's)"),
    max_files: int = typer.Option(32, "--max-files", help="photos per request"),
    max_file_mb: float = typer.Option(50.0, "--max-file-mb", help="largest upload, in MB"),
    queue: int = typer.Option(16, "--queue", help="requests that may wait; more are turned away"),
    concurrency: int = typer.Option(1, "--concurrency", help="requests translated at once"),
) -> None:
    from translate.app.session import Limits

    limits = Limits(max_files=max_files, max_file_mb=max_file_mb, queue=queue, concurrency=concurrency)
    if max_pixels is not None:
        limits.max_pixels = max_pixels
    from translate.app.server import serve

    server = serve(model, host=host, port=port, open_browser=browser, share=share, variant=variant, plugins=plugin,
                   device=device, precision=precision, limits=limits, block=False)
    typer.echo(f"serving {model} at {server.url} (Ctrl-C stops; API: /translate)")
    server.wait()
