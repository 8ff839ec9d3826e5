"""`translate models ...`: list the pretrained catalog, show one entry, fetch, verify the cache."""
from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from translate.hub import catalog as C

app = typer.Typer(
    help="Pretrained generators by name (the official CycleGAN and pix2pix models): list, show, fetch, verify.",
    no_args_is_help=True,
)


def _console() -> Console:
    return Console(soft_wrap=False)


@app.command("list")
def list_models() -> None:
    """Every catalog model: variant, size, what it does (* = cached; `show NAME` for the rest)."""
    catalog = C.load_catalog()
    table = Table(box=None, pad_edge=False, header_style="bold underline")
    table.add_column("name", no_wrap=True, style="bold", min_width=max(map(len, catalog)) + 2)
    table.add_column("variant", no_wrap=True)
    table.add_column("size", no_wrap=True, justify="right")
    table.add_column("what it does", overflow="fold", ratio=1)
    for name, e in catalog.items():
        cached = " *" if C.cache_path(name).is_file() else ""
        table.add_row(name + cached, e.variant, e.approx_size or "?", e.does)
    console = _console()
    console.print(f"cache: {C.models_dir()}")
    console.print(table)
    console.print(f"{len(catalog)} models (* = cached). Use a name wherever a model is taken: `translate convert horse2zebra photos/ out/`.")


@app.command()
def show(name: str = typer.Argument(..., help="catalog name (see `translate models list`)")) -> None:
    """Everything the catalog knows about NAME, and its cache state."""
    e = C.get_entry(name)
    size, sha, origin = C.expected(e)
    path = C.cache_path(e.name)
    rows = [("name", e.name), ("variant", e.variant), ("architecture", e.architecture), ("does", e.does),
            ("trained on", e.data), ("url", e.url), ("size", f"{size} bytes ({origin})" if size else e.approx_size + " (not yet recorded)"),
            ("sha256", f"{sha} ({origin})" if sha else "not yet recorded: the first verified download records it"),
            ("licence", e.licence), ("cite", e.citation), ("source", e.source),
            ("cached", str(path) if path.is_file() else f"no (would be {path})")]
    for key, value in rows:
        typer.echo(f"{key:>12}  {value}")


@app.command()
def fetch(
    name: str = typer.Argument(..., help="catalog name"),
    force: bool = typer.Option(False, "--force", help="download again even if cached"),
) -> None:
    """Download NAME into the cache (resuming if interrupted) and verify it."""
    got = C.fetch(name, force=force)
    if got.already:
        typer.echo(f"{got.name} is already cached: {got.path} (use --force to fetch again)")
        return
    typer.echo(f"fetched {got.name} -> {got.path}")
    if got.recorded:
        typer.echo(f"recorded size and SHA-256 {got.sha256} in {C.lock_path()}")


@app.command()
def verify(names: Optional[list[str]] = typer.Argument(None, help="catalog names (default: every cached model)")) -> None:
    """Check cached models against their recorded size and SHA-256 (exit 1 on a mismatch)."""
    verdicts = C.verify(names or None)
    if not verdicts:
        typer.echo(f"no cached models in {C.models_dir()}")
        return
    for v in verdicts:
        typer.echo(f"{v.name}: {v.status} — {v.detail}")
    if any(v.status in ("mismatch", "not fetched") for v in verdicts):
        raise typer.Exit(1)
