"""The `translate` command line: thin typer wrappers around translate.*."""
from __future__ import annotations

import sys

import typer

from translate.cli.app import app, exit_code
from translate.errors import TranslateError

_registered = False


def _register() -> None:
    """Each command group lives in its own module and adds itself to `app` (once)."""
    global _registered
    if _registered:
        return
    _registered = True
    from translate.cli import convert, datasets, demo, eval, models, plugins, push, train  # noqa: F401 - they register

    app.add_typer(datasets.app, name="datasets")
    app.add_typer(models.app, name="models")


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        app(args=argv, standalone_mode=True)
    except TranslateError as err:
        from translate.files import shown

        typer.echo(f"error: {shown(err, 4000)}", err=True)  # one line, no control characters
        sys.exit(exit_code(err))
    except KeyboardInterrupt:  # a second Ctrl-C: the first one already asked the work to stop
        typer.echo("interrupted", err=True)
        sys.exit(130)


__all__ = ["app", "exit_code", "main", "_register"]
