"""`translate train` as a function: plan a run (every check before any work), then run it.

    p = plan("cyclegan", data="horse2zebra", name="h2z", sets={"lr": "1e-4"})
    summary = run(p)

`plan` resolves the variant (by name, or the user's own plugin file), the config (defaults <
`--config` file < `--set`), validates every value and the sizes the nets can take, and picks
the run directory (confined to `runs_dir`). `resume` takes a run directory, a checkpoint file,
or "auto" (with `name`): resume `runs_dir/name` if it has a checkpoint, else start it — a
requeued cluster job needs one command line. A resumed run keeps its original config.yaml;
this session's `--set` values apply on top and are recorded in provenance.json.
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translate import config as C
from translate import discovery
from translate.data import data_kind, open_data
from translate.engine.config import EngineConfig
from translate.errors import ConfigError, TranslateError
from translate.files import exists, shown
from translate.jobs.rundir import RunDir, RunLock

log = logging.getLogger("translate")


@dataclass
class RunPlan:
    variant: type
    model: Any
    engine: EngineConfig
    data: str | None
    data_b: str | None
    run_dir: Path
    resume: Path | None  # a run directory (newest valid checkpoint) or one checkpoint file
    overrides: dict[str, Any] = field(default_factory=dict)  # this session's --set values
    auto_name: str = ""  # the base of a generated name (a unique runs/BASE[-N] is claimed at start)


def _paths_checked(fn: Any) -> Any:
    """An unusable path on the command line (a name over 255 bytes, a path over 4096) is one line."""
    import errno
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OSError as err:
            if err.errno not in (errno.ENAMETOOLONG, errno.ELOOP):
                raise
            raise ConfigError(f"path {shown(err.filename or '', 120)} cannot be used: {err.strerror} "
                              "(file names up to 255 bytes)") from None

    return wrapper


@_paths_checked
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
    """Work out everything a run needs; raise one-line errors for anything wrong (nothing is written)."""
    discovery.load_all(list(plugins))
    runs = Path(runs_dir)
    if resume == "auto":
        if not name:
            raise ConfigError("--resume auto needs --name: the run to continue, or to start if it is not there")
        target = _confined(runs, name)
        resume = str(target) if RunDir(target).latest_checkpoint() is not None else None
    flat: dict[str, Any] = {}
    cls = None
    resume_path = None
    if resume is not None:
        run_dir = Path(resume)
        if run_dir.is_file():  # a checkpoint file inside runs/<name>/checkpoints/
            resume_path, run_dir = run_dir, run_dir.parent.parent
        run = RunDir(run_dir)
        if not run.exists():
            raise TranslateError(f"cannot resume {resume}: no config.yaml there (is it a run directory?)")
        meta = run.read_config()
        if variant is None:  # the run's variant by name: its plugin is never imported from the run's files
            cls = discovery.model_variant(meta.get("variant"), meta.get("plugin") or meta.get("plugin_file"),
                                          f"run {run_dir}")
        data = data or meta.get("data")
        data_b = data_b or meta.get("data_b")
        flat.update(C.read_file(run.config_path))
        if run.latest_checkpoint() is None:
            raise TranslateError(f"cannot resume {run_dir}: it has no checkpoint yet")
        resume_path = resume_path or run.path
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
    elif cls is None:
        raise ConfigError("name a variant (e.g. `translate train cyclegan`), give a run's --config, or --resume a run")
    overrides = dict(sets or {})
    flat.update(overrides)
    eng_values, model_values = C.split_sections(flat, EngineConfig, cls.config)
    model = cls.config()
    if data is None and resume is None:
        model = C.apply(model, cls.demo)
    model = C.apply(model, model_values)
    engine = C.apply(EngineConfig(), eng_values)
    check(cls, model, engine, fresh=resume is None)
    auto = ""
    if resume is None:
        run_dir, auto = _new_run_dir(runs, name, cls.name, data)
    layers = [f"{cls.name}'s defaults", *([f"the demo's {', '.join(cls.demo)}"] if data is None and resume is None
                                          and cls.demo else []),
              *([f"{resume_path}'s config.yaml"] if resume is not None else []),
              *([f"{config_file}"] if config_file else []), *([f"--set {', '.join(overrides)}"] if overrides else [])]
    log.debug(f"config: {' < '.join(layers)}")
    return RunPlan(cls, model, engine, data, data_b, run_dir, resume_path, overrides, auto)


def check(cls: type, model: Any, engine: EngineConfig, fresh: bool = True) -> None:
    """What can be checked from the config alone: devices, precision, cross-key rules (the sizes
    the nets can take are checked by `run` once the data has settled the config)."""
    from translate.device import resolve_device, resolve_precision

    device = resolve_device(engine.device)
    resolve_precision(engine.precision, device, warn=False)
    if model.load_size and model.load_size < model.image_size:
        raise ConfigError(f"load_size {model.load_size} is smaller than image_size {model.image_size}: images are "
                          "resized to load_size, then cropped to image_size; set load_size ≥ image_size")
    cls.validate(model)
    from translate.engine.trackers import parse

    parse(engine.loggers)  # unknown names, a tracker's library missing: one line, before any work
    if fresh and getattr(model, "init_from", ""):  # a resumed run no longer needs its source
        from translate.engine.warmstart import parse

        for _, path in parse(model.init_from):
            p = Path(path).expanduser()
            if not exists(p):
                raise ConfigError(f"config key 'init_from': {shown(path)} does not exist (a run directory, checkpoint, "
                                  ".safetensors or .pth file)")
            if p.is_file() and p.suffix.lower() not in INIT_SUFFIXES:
                raise ConfigError(f"config key 'init_from': {shown(path)} is not a run directory, checkpoint (.pt), "
                                  ".pth or .safetensors file")


INIT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".safetensors")


def _confined(runs: Path, name: str) -> Path:
    """runs/NAME, refused if NAME would put the run outside `runs` (.., absolute paths, symlinks)."""
    target = runs / name
    root = runs.resolve()
    resolved = target.resolve()
    if Path(name).is_absolute() or (resolved != root and root not in resolved.parents) or resolved == root:
        raise ConfigError(f"--name '{name}' puts the run outside {runs}: use a plain name (sub/folders are fine)")
    return target


def _new_run_dir(runs: Path, name: str | None, variant: str, data: str | None) -> tuple[Path, str]:
    if name:
        run_dir = _confined(runs, name)
        if RunDir(run_dir).latest_checkpoint() is not None:
            raise TranslateError(f"run {run_dir} already exists: continue it with --resume {run_dir} (or --resume auto), "
                                 "or pick another --name")
        return run_dir, ""
    base = f"{variant}-{'demo' if data is None else Path(str(data)).name or 'data'}"
    return _free_name(runs, base), base


def _free_name(runs: Path, base: str, start: int = 1) -> Path:
    """runs/BASE, else the first free runs/BASE-N."""
    i = start
    while True:
        run_dir = runs / (base if i == 1 else f"{base}-{i}")
        if not run_dir.exists():
            return run_dir
        i += 1


def _claim(p: RunPlan) -> bool:
    """Create the run directory — for a generated name a unique one, even with runs starting
    together (mkdir is the atomic claim); True if this call created it."""
    p.run_dir.parent.mkdir(parents=True, exist_ok=True)
    if not p.auto_name:
        try:
            p.run_dir.mkdir(parents=True)  # atomic: of two runs with one --name, one creates it
            return True
        except FileExistsError:
            return False
    while True:
        try:
            p.run_dir.mkdir()
            return True
        except FileExistsError:
            p.run_dir = _free_name(p.run_dir.parent, p.auto_name)


@_paths_checked
def run(p: RunPlan, data_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Open the data, take the run directory's lock, train; the directory of a fresh run that
    fails before its first checkpoint is removed again."""
    from translate.engine.trainer import Trainer

    options = dict(data_options or {})
    if p.data_b is not None:
        options["data_b"] = p.data_b
    from translate.jobs.sizes import check_sizes

    import time

    t = time.perf_counter()
    bundle = open_data(p.variant.data, p.data, p.model, **options)
    log.debug(f"phase data: {p.variant.data} data from {p.data or 'the built-in demo'} opened in "
              f"{time.perf_counter() - t:.2f} s")
    if len(bundle.preview):  # the kind keeps what it declares (keys, value ranges): checked on one item
        data_kind(p.variant.data).check_item(bundle.preview[0], f"{p.data or 'the demo'}, first preview item")
    p.model = p.variant.settle(p.model, bundle.info)  # what the data decides (class count), before build
    check_sizes(p.variant, p.model)
    fresh = p.resume is None
    created = _claim(p) if fresh else False
    lock = RunLock(RunDir(p.run_dir))
    is_main = _rank() == 0
    try:
        if is_main:
            lock.acquire()
            log.info(f"training {p.variant.name} on {p.data or 'the built-in demo data'} -> {p.run_dir}")
        trainer = Trainer(p.variant, p.model, p.engine, bundle, p.run_dir, resume_from=p.resume)
        if fresh:
            plugin = discovery.variant_plugin(p.variant.name)  # a hint for whoever opens the run; never imported
            trainer.run.write_config({
                "variant": p.variant.name,
                **({"plugin": plugin} if plugin else {}),
                "data": p.data,
                **({"data_b": p.data_b} if p.data_b else {}),
                "engine": C.to_plain(p.engine),
                "model": C.to_plain(p.model),
            })
        trainer.run.start_session(p.data, {} if fresh else p.overrides)
        summary = trainer.fit()
    except BaseException:
        discard_if_empty(p.run_dir, created and is_main, lock)
        raise
    finally:
        lock.release()
    summary["run_dir"] = str(p.run_dir)
    return summary


def discard_if_empty(run_dir: Path, created: bool, lock: RunLock) -> None:
    """Remove a run directory this process created and holds the lock of, if it has no checkpoint:
    a run that lost the lock to another with the same --name leaves the winner's files alone."""
    if created and lock.owner and RunDir(run_dir).latest_checkpoint() is None:
        shutil.rmtree(run_dir, ignore_errors=True)  # nothing of value was written


def _rank() -> int:
    import os

    return int(os.environ.get("RANK", "0"))
