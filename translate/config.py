"""Config resolution: defaults < `--config file.yaml` < `--set key=value`.

A run's config has two sections, ``engine`` (how to train) and ``model`` (the
variant's recipe). Keys are unique across both, so ``--set lr=1e-4`` and
``--set model.lr=1e-4`` mean the same thing. Unknown keys are an error that lists
the valid ones.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from translate.errors import ConfigError
from translate.files import first_line

D = TypeVar("D")


def fields_of(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def field_help(cls: type) -> list[tuple[str, str, Any, str]]:
    """(name, type, default, help) for every field, for `variants show`."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        rows.append((f.name, _type_name(hints[f.name]), default, f.metadata.get("help", "")))
    return rows


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Convert `value` (from YAML or a `--set` string) to the field type `tp`."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        return coerce(value, args[0], key)
    if isinstance(value, str) and tp is not str:
        value = yaml.safe_load(value)
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            raise ValueError
        if tp is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if tp is float:
            return float(value)
        if tp is str:
            return str(value)
        if origin in (tuple, list):
            (inner, *_) = typing.get_args(tp) or (Any,)
            seq = [v if inner is Any else coerce(v, inner, key) for v in value]
            return origin(seq)
    except (TypeError, ValueError):
        raise ConfigError(f"config key '{key}': cannot read {value!r} as {_type_name(tp)}") from None
    return value


def apply(obj: D, values: dict[str, Any]) -> D:
    """Return a copy of dataclass `obj` with `values` set (coerced, range-checked)."""
    hints = typing.get_type_hints(type(obj))
    known = fields_of(type(obj))
    changes = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown config key '{key}'; valid keys: {', '.join(sorted(known))}{did_you_mean(key, known)}")
        changes[key] = check(key, coerce(value, hints[key], key), known[key])
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]


def check(key: str, value: Any, f: dataclasses.Field) -> Any:
    """`value` if it is within what the field declares (`option(..., min=, max=, above=,
    choices=, multiple_of=)`), else a one-line ConfigError naming the key, the value and the range."""
    meta = f.metadata
    if value is None:
        return value
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        shown = ", ".join(str(c) for c in choices)
        raise ConfigError(f"config key '{key}': {value!r} is not one of {shown}{did_you_mean(str(value), [str(c) for c in choices])}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"config key '{key}': {value!r} is not a finite number")
        if "min" in meta and value < meta["min"]:
            raise ConfigError(f"config key '{key}': {value!r} is too small: must be ≥ {meta['min']}")
        if "above" in meta and value <= meta["above"]:
            raise ConfigError(f"config key '{key}': {value!r} is too small: must be > {meta['above']}")
        if "max" in meta and value > meta["max"]:
            raise ConfigError(f"config key '{key}': {value!r} is too large: must be ≤ {meta['max']}")
        if meta.get("multiple_of") and value % meta["multiple_of"]:
            raise ConfigError(f"config key '{key}': {value!r} must be a multiple of {meta['multiple_of']}")
    return value


def did_you_mean(word: str, options: Any) -> str:
    """"; did you mean 'x'?" for a near miss among `options`, else ""."""
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ""


def parse_sets(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects key=value, got '{pair}'")
        key, value = pair.split("=", 1)
        out[key.strip()] = value
    return out


def split_sections(flat: dict[str, Any], engine_cls: type, model_cls: type) -> tuple[dict, dict]:
    """Route flat or `engine.`/`model.`-prefixed keys to their section."""
    e_keys, m_keys = fields_of(engine_cls), fields_of(model_cls)
    eng: dict[str, Any] = {}
    mod: dict[str, Any] = {}
    for key, value in flat.items():
        section, _, bare = key.rpartition(".")
        if section == "engine" or (not section and bare in e_keys):
            eng[bare] = value
        elif section == "model" or (not section and bare in m_keys):
            mod[bare] = value
        else:
            valid = sorted(set(e_keys) | set(m_keys))
            raise ConfigError(f"unknown config key '{key}'; valid keys: {', '.join(valid)}{did_you_mean(bare, valid)}")
    return eng, mod


def read_file(path: str | Path) -> dict[str, Any]:
    """A YAML config: flat keys, or `engine:`/`model:` sections (as written into run dirs)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {p} is not valid YAML: {first_line(err)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must be a mapping of key: value")
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("engine", "model") and isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        elif key in INFO_KEYS:
            continue  # informational keys written into run dirs
        else:
            flat[key] = value
    return flat


INFO_KEYS = ("variant", "data", "data_b", "plugin", "plugin_file")


def read_info(path: str | Path) -> dict[str, Any]:
    """The informational keys of a run's config.yaml (variant, data, plugin): plain values only."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: data[k] for k in INFO_KEYS if k in data and (data[k] is None or isinstance(data[k], str))}


def to_plain(obj: Any) -> dict[str, Any]:
    out = {}
    for key, value in dataclasses.asdict(obj).items():
        out[key] = list(value) if isinstance(value, tuple) else value
    return out
