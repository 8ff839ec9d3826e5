"""`translate train` as a function: resolve variant, config, data and run dir, then fit."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from translate import config as C
from translate import discovery
from translate.data import open_data
from translate.engine import EngineConfig, Trainer
from translate.engine.checkpoint import latest
from translate.errors import ConfigError, TranslateError


@dataclass
class RunPlan:
    variant: type
    model: Any
    engine: EngineConfig
    data: str | None
    data_b: str | None
    run_dir: Path
    resume: Path | None


def plan(
    variant: str | None = None,
    data: str | None = None,
    data_b: str | None = None,
    name: str | None = None,
    resume: str | None = None,
    config_file: str | None = None,
    sets: dict[str, Any] | None = None,
    plugins: list[str] = (),  # type: ignore[assignment]
    runs_dir: str | Path = "runs",
) -> RunPlan:
    """Work out everything a run needs; raise one-line errors for anything wrong."""
    discovery.load_all(list(plugins))
    flat: dict[str, Any] = {}
    resume_path = None
    if resume is not None:
        run_dir = Path(resume)
        if run_dir.is_file():  # a checkpoint file inside runs/<name>/checkpoints/
            resume_path, run_dir = run_dir, run_dir.parent.parent
        saved = run_dir / "config.yaml"
        if not saved.is_file():
            raise TranslateError(f"cannot resume {resume}: no config.yaml there (is it a run directory?)")
        meta = yaml.safe_load(saved.read_text()) or {}
        plugin_file = meta.get("plugin_file")
        variant = plugin_file or variant or meta.get("variant")
        data = data or meta.get("data")
        data_b = data_b or meta.get("data_b")
        flat.update(C.read_file(saved))
        resume_path = resume_path or latest(run_dir / "checkpoints")
        if resume_path is None:
            raise TranslateError(f"cannot resume {run_dir}: it has no checkpoint yet")
    if variant is None:
        raise ConfigError("name a variant (e.g. `translate train cyclegan`) or --resume a run")
    cls = discovery.resolve_variant(variant)
    if config_file:
        flat.update(C.read_file(config_file))
    flat.update(sets or {})
    eng_values, model_values = C.split_sections(flat, EngineConfig, cls.config)
    model = cls.config()
    if data is None and resume is None:
        model = C.apply(model, cls.demo)
    model = C.apply(model, model_values)
    engine = C.apply(EngineConfig(), eng_values)
    if resume is None:
        run_dir = _new_run_dir(Path(runs_dir), name, cls.name, data)
    return RunPlan(cls, model, engine, data, data_b, run_dir, resume_path)


def _new_run_dir(runs: Path, name: str | None, variant: str, data: str | None) -> Path:
    if name:
        run_dir = runs / name
        if latest(run_dir / "checkpoints") is not None:
            raise TranslateError(f"run {run_dir} already exists: continue it with --resume {run_dir}, or pick another --name")
        return run_dir
    base = f"{variant}-{'demo' if data is None else Path(str(data)).name or 'data'}"
    run_dir, i = runs / base, 1
    while run_dir.exists():
        i += 1
        run_dir = runs / f"{base}-{i}"
    return run_dir


def run(p: RunPlan, data_options: dict[str, Any] | None = None) -> dict[str, Any]:
    options = dict(data_options or {})
    if p.data_b is not None:
        options["data_b"] = p.data_b
    bundle = open_data(p.variant.data, p.data, p.model, **options)
    trainer = Trainer(p.variant, p.model, p.engine, bundle, p.run_dir, resume_from=p.resume)
    plugin_file = None
    src = discovery.variant_source(p.variant.name)
    if src.startswith("file "):
        plugin_file = src[len("file "):]
    trainer.run.write_config({
        "variant": p.variant.name,
        **({"plugin_file": plugin_file} if plugin_file else {}),
        "data": p.data,
        **({"data_b": p.data_b} if p.data_b else {}),
        "engine": C.to_plain(p.engine),
        "model": C.to_plain(p.model),
    })
    summary = trainer.fit()
    summary["run_dir"] = str(p.run_dir)
    return summary
