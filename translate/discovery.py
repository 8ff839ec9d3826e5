"""Plugin discovery: entry points (`translate.plugins`, the built-ins too), single `.py`
files, and directories on TRANSLATE_PLUGIN_PATH.

A plugin is a module whose import registers variants, architectures or objectives. A
plugin that fails to import is recorded with its error (see `translate plugins list`)
and never stops the others from loading.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata as md
import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from translate.errors import PluginError
from translate.registry import Registry, loading_source

GROUP = "translate.plugins"
ENV_PATH = "TRANSLATE_PLUGIN_PATH"


@dataclass
class PluginStatus:
    name: str
    source: str
    ok: bool
    error: str = ""
    provides: list[str] = field(default_factory=list)  # "variant cyclegan", "architecture unet"...


_loaded: dict[str, PluginStatus] = {}  # by source, in load order


def _snapshot() -> dict[int, set[str]]:
    return {id(r): set(r.names()) for r in Registry.all}


def _load(name: str, source: str, importer) -> PluginStatus:  # noqa: ANN001
    if source in _loaded:
        return _loaded[source]
    before = _snapshot()
    try:
        with loading_source(source):
            importer()
        status = PluginStatus(name, source, True)
    except (Exception, SystemExit) as err:  # a broken plugin is reported, never fatal
        for reg in Registry.all:
            reg.remove_source(source)
        detail = "".join(traceback.format_exception_only(type(err), err)).strip().splitlines()[-1]
        status = PluginStatus(name, source, False, detail)
    after = _snapshot()
    for reg in Registry.all:
        status.provides += [f"{reg.kind} {n}" for n in sorted(after.get(id(reg), set()) - before.get(id(reg), set()))]
    _loaded[source] = status
    return status


def load_entry_points() -> list[PluginStatus]:
    out = []
    for ep in sorted(md.entry_points(group=GROUP), key=lambda e: e.name):
        out.append(_load(ep.name, f"entry point '{ep.name}' ({ep.value})", ep.load))
    return out


def load_file(path: str | Path) -> PluginStatus:
    """Import one plugin file under a private module name."""
    path = Path(path).resolve()
    if not path.is_file():
        return PluginStatus(path.stem, f"file {path}", False, f"plugin file not found: {path}")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    module_name = f"translate_plugin_{path.stem}_{digest}"

    def importer() -> None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise

    return _load(path.stem, f"file {path}", importer)


def load_path_dirs() -> list[PluginStatus]:
    out = []
    for folder in filter(None, os.environ.get(ENV_PATH, "").split(os.pathsep)):
        for file in sorted(Path(folder).glob("*.py")):
            if not file.name.startswith("_"):
                out.append(load_file(file))
    return out


def load_all(files: list[str | Path] = ()) -> list[PluginStatus]:  # type: ignore[assignment]
    """Built-ins and installed plugins, TRANSLATE_PLUGIN_PATH, then `files`."""
    import translate.data  # noqa: F401 - the core's own registrations are not a plugin's
    import translate.losses  # noqa: F401
    import translate.nets  # noqa: F401

    load_entry_points()
    load_path_dirs()
    for f in files:
        load_file(f)
    return list(_loaded.values())


def statuses() -> list[PluginStatus]:
    return list(_loaded.values())


def require_file(path: str | Path) -> PluginStatus:
    """Load a plugin file the user named explicitly: failure is an error, not a note."""
    status = load_file(path)
    if not status.ok:
        raise PluginError(f"plugin {status.source} failed to load: {status.error}")
    return status


def resolve_variant(name_or_file: str):  # noqa: ANN201 - returns type[Variant]
    """A registered variant name, or a `.py` plugin file defining exactly one variant."""
    from translate.variant import VARIANTS

    load_all()
    if name_or_file.endswith(".py") or Path(name_or_file).is_file():
        status = require_file(name_or_file)
        names = [p.split(" ", 1)[1] for p in status.provides if p.startswith("variant ")]
        if not names:  # already loaded earlier in this process
            names = [n for n in VARIANTS.names() if VARIANTS.source(n) == status.source]
        if len(names) != 1:
            raise PluginError(f"{name_or_file} must define exactly one variant, found {len(names)}: {names}")
        return VARIANTS.get(names[0])
    if name_or_file not in VARIANTS:
        broken = [s for s in _loaded.values() if not s.ok]
        hint = f" (plugins that failed to load: {', '.join(f'{s.name}: {s.error}' for s in broken)})" if broken else ""
        known = ", ".join(VARIANTS.names()) or "(none)"
        raise PluginError(f"unknown variant '{name_or_file}'; known: {known}{hint}")
    return VARIANTS.get(name_or_file)


def _reset_for_tests() -> None:
    _loaded.clear()


__all__ = ["PluginStatus", "load_all", "load_file", "require_file", "resolve_variant", "statuses"]


def variant_source(name: str) -> str:  
    """Where the variant `name` was registered from ("entry point ...", "file /x.py")."""
    from translate.variant import VARIANTS

    return VARIANTS.source(name)
