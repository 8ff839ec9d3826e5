"""The typer app every command group adds itself to, its global options, and exit codes.

Exit codes: 0 done, 1 a runtime failure (missing or broken data/weights, a locked run, some
files failed), 2 a usage error (unknown variant or key, a bad value), 130 interrupted.
"""
from __future__ import annotations

from typing import Optional

import typer

from translate.errors import ConfigError, PluginError, TranslateError

app = typer.Typer(
    name="translate",
    help="Image-to-image translation with GANs: train, convert folders, export, extend.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def exit_code(err: TranslateError) -> int:
    """2 for usage errors (config keys and values, variant and plugin names), 1 for the rest."""
    return 2 if isinstance(err, (ConfigError, PluginError)) else 1


def _version(value: bool) -> None:
    if value:
        from translate.jobs.provenance import version

        typer.echo(f"translate {version()}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="print the version and exit"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="warnings and errors only (no progress, no info lines)"),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="more detail (debug messages)"),
) -> None:
    """Image-to-image translation with GANs: train, convert folders, export, extend."""
    import os

    from translate.jobs import logs

    rank = int(os.environ.get("RANK", "0"))  # under torchrun the other processes stay quiet
    logs.configure(0 if quiet or rank else 1 + verbose)
    if os.environ.get("NO_COLOR"):  # https://no-color.org: rich honours it itself; click's styles through the context
        ctx.color = False


def quiet_option() -> typer.models.OptionInfo:
    return typer.Option(False, "--quiet", "-q", help="warnings and errors only (also: translate -q COMMAND)")


def apply_quiet(quiet: bool) -> None:
    if quiet:
        from translate.jobs import logs

        logs.configure(0)


def relaunch(nproc: int) -> None:
    """`--nproc N` (N > 1): run this same command under torchrun with N processes, exit with its code."""
    import os
    import sys

    if nproc <= 1:
        return
    if "WORLD_SIZE" in os.environ:
        raise ConfigError("--nproc starts torchrun itself; under torchrun leave it out")
    from translate.parallel import launch

    raise typer.Exit(launch(nproc, sys.argv[1:]))


def complete_variant(incomplete: str) -> list[str]:
    """Variant names for shell completion, without importing any plugin (entry point names)."""
    from importlib.metadata import entry_points

    from translate.discovery import GROUP

    return sorted(ep.name for ep in entry_points(group=GROUP) if ep.name.startswith(incomplete))


def complete_set(ctx: typer.Context, incomplete: str) -> list[str]:
    """`--set` keys (KEY=) of the engine and of the variant named on the command line."""
    from translate import config as C
    from translate import discovery
    from translate.engine.config import EngineConfig

    keys = list(C.fields_of(EngineConfig))
    name = (getattr(ctx, "params", None) or {}).get("variant")
    if not name:  # while completing, click leaves the positional VARIANT in ctx.args
        name = next((a for a in getattr(ctx, "args", None) or [] if not a.startswith("-") and "=" not in a), None)
    try:
        if name:
            keys += list(C.fields_of(discovery.resolve_variant(name).config))
    except TranslateError:
        pass
    return sorted(f"{k}=" for k in set(keys) if f"{k}=".startswith(incomplete) or k.startswith(incomplete))
