"""`translate train` as a function: resolve variant, config, data and run dir, then fit."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from translate import config as C
from translate import discovery
from translate.data import open_data
from translate.engine.config import EngineConfig
from translate.errors import ConfigError, TranslateError
from translate.rundir import RunDir


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
        run = RunDir(run_dir)
        saved = run.config_path
        if not run.exists():
            raise TranslateError(f"cannot resume {resume}: no config.yaml there (is it a run directory?)")
        meta = run.read_config()
        if variant is None:  # the run's variant by name: its plugin is never imported from the run's files
            cls = discovery.model_variant(meta.get("variant"), meta.get("plugin") or meta.get("plugin_file"),
                                          f"run {run_dir}")
        data = data or meta.get("data")
        data_b = data_b or meta.get("data_b")
        flat.update(C.read_file(saved))
        resume_path = resume_path or run.latest_checkpoint()
        if resume_path is None:
            raise TranslateError(f"cannot resume {run_dir}: it has no checkpoint yet")
    if config_file:
        saved_cfg = C.read_file(config_file)
        if variant is None and resume is None:  # a run's own config.yaml reproduces the run: variant and data too
            info = C.read_info(config_file)
            if info.get("variant") is not None:
                cls = discovery.model_variant(info.get("variant"), info.get("plugin") or info.get("plugin_file"),
                                              f"config {config_file}")
                data = data if data is not None else info.get("data")
                data_b = data_b if data_b is not None else info.get("data_b")
        flat.update(saved_cfg)
    if variant is not None:
        cls = discovery.user_variant(variant)  # the user's own choice: a name, or their plugin file
    elif "cls" not in locals():
        raise ConfigError("name a variant (e.g. `translate train cyclegan`), give a run's --config, or --resume a run")
    flat.update(sets or {})
    eng_values, model_values = C.split_sections(flat, EngineConfig, cls.config)
    model = cls.config()
    if data is None and resume is None:
        model = C.apply(model, cls.demo)
    model = C.apply(model, model_values)
    engine = C.apply(EngineConfig(), eng_values)
    cls.validate(model)
    if resume is None:
        run_dir = _new_run_dir(Path(runs_dir), name, cls.name, data)
    return RunPlan(cls, model, engine, data, data_b, run_dir, resume_path)


def _new_run_dir(runs: Path, name: str | None, variant: str, data: str | None) -> Path:
    if name:
        run_dir = runs / name
        if RunDir(run_dir).latest_checkpoint() is not None:
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
    from translate.engine.trainer import Trainer

    bundle = open_data(p.variant.data, p.data, p.model, **options)
    p.model = p.variant.settle(p.model, bundle.info)  # what the data decides (class count), before build
    trainer = Trainer(p.variant, p.model, p.engine, bundle, p.run_dir, resume_from=p.resume)
    plugin = discovery.variant_plugin(p.variant.name)  # a hint for whoever opens the run; never imported
    trainer.run.write_config({
        "variant": p.variant.name,
        **({"plugin": plugin} if plugin else {}),
        "data": p.data,
        **({"data_b": p.data_b} if p.data_b else {}),
        "engine": C.to_plain(p.engine),
        "model": C.to_plain(p.model),
    })
    summary = trainer.fit()
    summary["run_dir"] = str(p.run_dir)
    return summary
