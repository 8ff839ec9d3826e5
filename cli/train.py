"""`translate train`: parse flags, call translate.jobs.train, print the summary."""
from __future__ import annotations

from typing import Optional

import typer

from translate.cli.app import app, apply_quiet, complete_set, complete_variant, quiet_option, relaunch


@app.command(
    "train",
    help=(
        "Train a GAN variant. With no --data, trains on the variant's built-in demo data. "
        "VARIANT is a registered name (see `translate variants list`) or a plugin .py file. "
        "Every run writes runs/NAME/: config.yaml, provenance.json, checkpoints/, metrics.jsonl, samples/, index.html."
    ),
)
def train_cmd(
    variant: Optional[str] = typer.Argument(None, help="variant name (cyclegan, ...) or path/to/plugin.py",
                                            autocompletion=complete_variant),
    data: Optional[str] = typer.Option(None, "--data", "-d", help="dataset folder or catalog name (omit: demo data)"),
    data_b: Optional[str] = typer.Option(None, "--data-b", help="second domain's folder, for two-folder variants"),
    name: Optional[str] = typer.Option(None, "--name", "-n", help="run name: writes RUNS_DIR/NAME/"),
    resume: Optional[str] = typer.Option(None, "--resume", help="continue a run (runs/NAME or a checkpoint file); "
                                         "'auto' with --name: continue it if it exists, else start it"),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="YAML file of config values (a run's config.yaml "
                                         "reproduces that run: variant and data included)"),
    set_: list[str] = typer.Option([], "--set", "-s", help="override one config value: key=value (repeatable)",
                                   autocompletion=complete_set),
    plugin: list[str] = typer.Option([], "--plugin", help="load a plugin .py file first (repeatable; needed to "
                                     "resume a run of a single-file plugin)"),
    device: Optional[str] = typer.Option(None, help="auto, cpu, cuda, cuda:N, mps"),
    precision: Optional[str] = typer.Option(None, help="fp32, bf16, fp16 or auto (bf16 where it is native and fast)"),
    steps: Optional[int] = typer.Option(None, help="stop after this many steps"),
    seed: Optional[int] = typer.Option(None, help="random seed"),
    runs_dir: str = typer.Option("runs", "--runs-dir", help="parent folder of run directories"),
    nproc: int = typer.Option(1, "--nproc", help="processes (one per GPU) on this machine: runs torchrun for you"),
    quiet: bool = quiet_option(),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="debug lines: what was decided and why "
                                "(device, precision, threads, data, checkpoints, time per phase)"),
) -> None:
    import os

    from translate import config as C
    from translate.jobs import train as T

    apply_quiet(quiet)
    if verbose and not quiet and os.environ.get("RANK", "0") == "0":
        from translate.jobs import logs

        logs.configure(1 + verbose)
    relaunch(nproc)
    echo = typer.echo if os.environ.get("RANK", "0") == "0" else (lambda *a, **k: None)

    sets = C.parse_sets(set_)
    for key, value in (("device", device), ("precision", precision), ("steps", steps), ("seed", seed)):
        if value is not None:
            sets[f"engine.{key}"] = value
    plan = T.plan(variant, data, data_b, name, resume, config, sets, plugin, runs_dir)
    summary = T.run(plan)
    for key, value in summary.items():
        if key != "explanations":  # the gallery's: what each figure means
            echo(f"  {key}: {value}")
    if summary.get("interrupted"):
        echo(f"interrupted: checkpoint saved; continue with `translate train --resume {plan.run_dir}`")
        raise typer.Exit(130)
