"""`translate plugins ...` and `translate variants ...`: what is installed and how to configure it."""
from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from translate.cli.app import app

plugins_app = typer.Typer(help="Installed plugins (entry points, files, TRANSLATE_PLUGIN_PATH).", no_args_is_help=True)
variants_app = typer.Typer(help="GAN variants and their config fields.", no_args_is_help=True)
app.add_typer(plugins_app, name="plugins")
app.add_typer(variants_app, name="variants")


@plugins_app.command("list", help="Every plugin found, what it provides, and the error of any that failed.")
def plugins_list(plugin: list[str] = typer.Option([], "--plugin", help="also load this plugin file")) -> None:
    from translate import discovery

    for st in discovery.load_all(plugin):
        mark = typer.style("ok   ", fg="green") if st.ok else typer.style("ERROR", fg="red")
        typer.echo(f"{mark} {st.name}  [{st.source}]")
        if st.provides:
            typer.echo(f"        provides: {', '.join(st.provides)}")
        if not st.ok:
            typer.echo(f"        error: {st.error}")


@variants_app.command("list", help="Registered variants.")
def variants_list(plugin: list[str] = typer.Option([], "--plugin", help="also load this plugin file")) -> None:
    from translate import discovery
    from translate.variant import VARIANTS

    discovery.load_all(plugin)
    table = Table(expand=False)
    table.add_column("variant", no_wrap=True, style="bold")
    table.add_column("data", no_wrap=True)
    table.add_column("description", overflow="fold", ratio=3)
    table.add_column("source", overflow="fold", ratio=2)
    for name, cls in VARIANTS.items():
        table.add_row(name, cls.data, cls.description, VARIANTS.source(name))
    Console().print(table)  # the terminal's width (80 columns when piped)


@variants_app.command("show", help="A variant's config fields: defaults (the paper's recipe) and help.")
def variants_show(
    variant: str = typer.Argument(..., help="variant name or plugin .py file"),
    plugin: list[str] = typer.Option([], "--plugin", help="also load this plugin file"),
) -> None:
    from translate import config as C
    from translate import discovery
    from translate.engine import EngineConfig

    discovery.load_all(plugin)
    cls = discovery.user_variant(variant)
    console = Console()
    console.print(f"[bold]{cls.name}[/] — {cls.description}  (data: {cls.data})")
    for title, fields in (("model (the recipe)", C.field_help(cls.config)), ("engine", C.field_help(EngineConfig))):
        table = Table(title=title, title_justify="left")
        table.add_column("key", no_wrap=True, style="bold")
        table.add_column("type", overflow="fold")
        table.add_column("default", overflow="fold", max_width=24)
        table.add_column("help", overflow="fold", ratio=1)
        for key, tp, default, text in fields:
            demo = f" [demo: {cls.demo[key]}]" if title.startswith("model") and key in cls.demo else ""
            table.add_row(escape(key), escape(tp), escape(repr(default)), escape(text + demo))
        console.print(table)
