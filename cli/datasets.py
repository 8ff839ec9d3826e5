"""`translate datasets ...`: list the catalog, fetch a dataset, verify a fetched one."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from translate.data.catalog import data_dir, is_fetched, load_catalog
from translate.data.catalog.layout import VerifyReport
from translate.data.catalog.fetch import fetch_dataset, verify_dataset

app = typer.Typer(
    help="Real datasets: list the catalog, fetch (resumable, checksummed, safely extracted), verify.",
    no_args_is_help=True,
)

DirOption = typer.Option(
    None, "--dir", help="Data folder (default: $TRANSLATE_DATA, else ~/.cache/translate/datasets)."
)


def _console() -> Console:
    return Console(soft_wrap=False)


@app.command("list")
def list_datasets(dir: Optional[Path] = DirOption) -> None:  # noqa: A002
    """Show every catalog dataset: kind, size, images, licence note, and whether fetched."""
    root = data_dir(dir)
    catalog = load_catalog()
    table = Table(box=None, pad_edge=False, header_style="bold underline")
    table.add_column("name", no_wrap=True, style="bold", min_width=max(map(len, catalog)))
    table.add_column("kind", no_wrap=True)
    table.add_column("size", no_wrap=True, justify="right")
    table.add_column("images", no_wrap=True, justify="right")
    table.add_column("fetched", no_wrap=True)
    table.add_column("licence / terms", overflow="fold", ratio=1)
    for name, entry in catalog.items():
        images = f"{entry.total_images:,}" + ("" if entry.counts_verified else " ~")
        if is_fetched(name, root):
            fetched = "[green]yes[/]"
        elif entry.is_manual:
            fetched = "manual"
        elif not entry.urls:
            fetched = "use --url"
        else:
            fetched = "-"
        table.add_row(name, entry.kind, entry.approx_size or "?", images, fetched, entry.licence)
    console = _console()
    console.print(f"data dir: {root}")
    console.print(table)
    console.print("~ = approximate count.  Fetch with `translate datasets fetch NAME`.")


def _print_report(console: Console, report: VerifyReport) -> None:
    table = Table(title=f"{report.name}: {report.folder}", title_justify="left")
    for col in ("split", "expected", "found", "status"):
        table.add_column(col, no_wrap=True)
    for check in report.checks:
        colour = {"ok": "green", "differs": "yellow", "missing": "red"}[check.status]
        table.add_row(check.split, str(check.expected), str(check.found), f"[{colour}]{check.status}[/]")
    console.print(table)
    if not report.counts_verified and any(c.status == "differs" for c in report.checks):
        console.print("note: the catalog's counts for this dataset are approximate.")


@app.command()
def fetch(
    name: str = typer.Argument(..., help="Catalog name (see `translate datasets list`)."),
    dir: Optional[Path] = DirOption,  # noqa: A002
    url: Optional[str] = typer.Option(None, "--url", help="Download from this URL or local archive instead."),
    force: bool = typer.Option(False, "--force", help="Download again and replace an existing copy."),
) -> None:
    """Download NAME (resuming if interrupted), verify it, extract safely, lay it out."""
    console = _console()
    result = fetch_dataset(name, data_dir=dir, url=url, force=force, show_progress=True)
    if result.already:
        console.print(f"{result.name} is already fetched in {result.folder} (use --force to fetch again)")
    else:
        console.print(f"fetched {result.name} into {result.folder}")
        if result.recorded:
            console.print(f"recorded its SHA-256 {result.sha256} in the data dir's lock file")
    _print_report(console, result.report)
    if not result.report.ok:
        raise typer.Exit(1)


@app.command()
def verify(
    name: str = typer.Argument(..., help="Catalog name of a fetched dataset."),
    dir: Optional[Path] = DirOption,  # noqa: A002
) -> None:
    """Count NAME's images per split and compare them with the catalog."""
    report = verify_dataset(name, data_dir=dir)
    _print_report(_console(), report)
    if not report.ok:
        raise typer.Exit(1)
