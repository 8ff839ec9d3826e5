"""The typer app every command group adds itself to."""
from __future__ import annotations

import typer

app = typer.Typer(
    name="translate",
    help="Image-to-image translation with GANs: train, convert folders, export, extend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
