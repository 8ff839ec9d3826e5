"""`translate push RUN OWNER/NAME`: share a model on the Hugging Face Hub (or write its files with --local-dir)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from translate.cli.app import app


@app.command("push", help="Share a run (or weights file) on the Hugging Face Hub: safetensors + sidecar (+ ONNX), "
                          "the model card and a sample image. --local-dir writes the repo's files and uploads nothing.")
def push_cmd(
    model: str = typer.Argument(..., help="a run directory, checkpoint, .safetensors (+ .json) or official .pth"),
    repo: str = typer.Argument(..., help="the Hub repo: OWNER/NAME"),
    private: bool = typer.Option(False, "--private", help="create the repo private"),
    onnx: bool = typer.Option(False, "--onnx", help="also upload ONNX files (one per image translator)"),
    int8: bool = typer.Option(False, "--int8", help="also upload int8 ONNX files (needs --calibrate)"),
    calibrate: Optional[Path] = typer.Option(None, "--calibrate", help="folder of your photos to calibrate int8 on"),
    local_dir: Optional[Path] = typer.Option(None, "--local-dir", help="write exactly the repo's files here; upload nothing"),
    license: str = typer.Option("other", "--license", help="the card's license id (e.g. mit, apache-2.0, other)"),
    plugin: list[str] = typer.Option([], "--plugin", help="load a plugin .py file first (repeatable)"),
) -> None:
    from translate.hub.push import push

    result = push(model, repo, private=private, onnx=onnx, int8=int8, calibrate=calibrate, local_dir=local_dir,
                  plugins=plugin, license=license)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if local_dir is not None:
        typer.echo(f"wrote {len(result.files)} files to {result.folder}: {', '.join(result.files)} (nothing uploaded)")
    else:
        typer.echo(f"pushed {', '.join(result.files)} to {repo}: {result.url}")
