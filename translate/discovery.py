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
from translate.files import shown
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
    import translate.kit.losses  # noqa: F401
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


def resolve_variant(name: str):  # noqa: ANN201 - returns type[Variant]
    """A registered variant, by name only: never a path. Plugin code is imported only from what
    the user chose (installed entry points, TRANSLATE_PLUGIN_PATH, --plugin FILE, a FILE.py
    named on the command line: see `user_variant`)."""
    from translate.meta import is_name
    from translate.variant import VARIANTS

    load_all()
    if not is_name(name):
        raise PluginError(
            f"'{str(name)[:120]}' is not a variant name; a plugin file is loaded only when you name it: "
            "--plugin FILE.py (or `translate train FILE.py`)"
        )
    if name not in VARIANTS:
        broken = [s for s in _loaded.values() if not s.ok]
        hint = f" (plugins that failed to load: {', '.join(f'{s.name}: {s.error}' for s in broken)})" if broken else ""
        from translate.config import did_you_mean

        known = ", ".join(VARIANTS.names()) or "(none)"
        raise PluginError(f"unknown variant '{name}'; known: {known}{hint}{did_you_mean(name, VARIANTS.names())}")
    return VARIANTS.get(name)


def user_variant(name_or_file: str):  # noqa: ANN201 - returns type[Variant]
    """What the user named on the command line: a registered name, or a `.py` plugin file of
    theirs defining exactly one variant (imported because the user asked for it)."""
    from translate.variant import VARIANTS

    if name_or_file.endswith(".py") or Path(name_or_file).is_file():
        load_all()
        status = require_file(name_or_file)
        names = [p.split(" ", 1)[1] for p in status.provides if p.startswith("variant ")]
        if not names:  # already loaded earlier in this process
            names = [n for n in VARIANTS.names() if VARIANTS.source(n) == status.source]
        if len(names) != 1:
            raise PluginError(f"{name_or_file} must define exactly one variant, found {len(names)}: {names}")
        return VARIANTS.get(names[0])
    return resolve_variant(name_or_file)


def model_variant(name: object, plugin: object, where: str):  # noqa: ANN201 - returns type[Variant]
    """The variant a model or run names in its metadata: looked up by name, nothing imported.
    When it is not available, one line says which plugin it came from and how to load it."""
    from translate.meta import is_name
    from translate.variant import VARIANTS

    load_all()
    if not is_name(name):
        raise PluginError(f"{shown(where)} names variant {shown(repr(str(name)[:120]))}, which is not a variant name; "
                          "nothing was imported (a model file can never choose code to run)")
    if name not in VARIANTS:
        raise PluginError(f"{shown(where)} was trained with variant '{shown(name)}'{plugin_hint(plugin)}")
    return VARIANTS.get(name)


def plugin_hint(plugin: object) -> str:
    """', from the plugin file x.py, which is not loaded: load it with --plugin path/to/x.py ...'."""
    text = shown(plugin if isinstance(plugin, str) else "", 200)  # a model's own words: never a control character
    if text.startswith("entry point"):
        return f", from the plugin {text}, which is not installed here: install the package that provides it"
    if text:
        base = Path(text.removeprefix("file ")).name  # 0.1 wrote an absolute path; only its name is shown
        return (f", from the plugin file {base}, which is not loaded (nothing is imported from a model's metadata): "
                f"load it with --plugin path/to/{base} or put its folder on {ENV_PATH}")
    return ", which is not available here (is its plugin installed? see `translate plugins list`)"


def variant_plugin(name: str) -> str:
    """Where a registered variant came from, as recorded in runs and exports: '' for the built-ins,
    'file x.py' for a plugin file (its name only), 'entry point ...' for other packages."""
    from translate.variant import VARIANTS

    src = VARIANTS.source(name)
    if src.startswith("file "):
        return f"file {Path(src[len('file '):]).name}"
    if src.startswith("entry point") and "(translate.plugins." in src:
        return ""
    return src if src.startswith("entry point") else ""


def _reset_for_tests() -> None:
    _loaded.clear()


__all__ = ["PluginStatus", "load_all", "load_file", "model_variant", "require_file", "resolve_variant", "statuses",
           "user_variant"]
