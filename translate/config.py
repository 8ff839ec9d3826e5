"""Config resolution: defaults < `--config file.yaml` < `--set key=value`.

A run's config has two sections, ``engine`` (how to train) and ``model`` (the
variant's recipe). Keys are unique across both, so ``--set lr=1e-4`` and
``--set model.lr=1e-4`` mean the same thing. Unknown keys are an error that lists
the valid ones.
"""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from translate.errors import ConfigError
from translate.files import first_line, shown

D = TypeVar("D")
MAX_CONFIG_BYTES = 1 << 20  # a config file is a few kB
MAX_ALIASES = 100  # YAML aliases (*x) in one document: a handful in a real config, millions in a "billion laughs"
MAX_NODES = 100_000  # values in one document, aliases expanded
INT_LIMIT = 2**31 - 1  # for int keys that declare no max of their own: steps, epochs, widths, seeds...
FLOAT_LIMIT = 1e6  # for float keys that declare no max: learning rates, loss weights, clip norms...


_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing documents with more than MAX_ALIASES aliases or MAX_NODES nodes
    (an alias bomb expands exponentially when walked or printed)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._nodes = getattr(self, "_nodes", 0) + 1
        if self.check_event(yaml.events.AliasEvent):
            self._aliases = getattr(self, "_aliases", 0) + 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases (an alias bomb?)")
        if self._nodes > MAX_NODES:
            raise yaml.YAMLError(f"more than {MAX_NODES:,} values")
        return super().compose_node(parent, index)


def load_yaml(text: str | bytes) -> Any:
    """`yaml.safe_load` with alias and size caps; raises yaml.YAMLError (also for too deep nesting
    and, given bytes, for text that is not UTF-8)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise yaml.YAMLError(f"not UTF-8 text (byte {err.start})") from None
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded(node, {}) > MAX_NODES:  # aliases shared, as printing or walking the values would see them
            raise yaml.YAMLError(f"more than {MAX_NODES:,} values once its aliases are expanded (an alias bomb?)")
        return loader.construct_document(node)
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise yaml.YAMLError(first_line(err)) from None
    finally:
        loader.dispose()


def _expanded(node: Any, sizes: dict[int, int]) -> int:
    """How many values a composed YAML node stands for with every alias expanded (memoised: linear)."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = MAX_NODES + 1  # a node inside itself (a recursive alias) is refused too
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded(k, sizes) + _expanded(v, sizes) for k, v in node.value)
    sizes[id(node)] = min(total, MAX_NODES + 1)
    return sizes[id(node)]


def _value(value: Any) -> str:
    """A value for a message: its repr, escaped and shortened."""
    try:
        text = repr(value) if isinstance(value, (str, int, float, bool, type(None))) else f"a {type(value).__name__}"
    except ValueError:  # an int too long to print
        text = "a huge number"
    return shown(text, 80)


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
        try:
            value = load_yaml(value)
        except yaml.YAMLError as err:
            raise ConfigError(f"config key '{key}': cannot read {_value(value)} as {_type_name(tp)} "
                              f"(not a plain value: {shown(first_line(err), 120)})") from None
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            raise ValueError
        if tp is int:
            if isinstance(value, str) and _FLOAT.match(value.strip()):
                value = float(value)  # 1e12: YAML 1.1 reads it as text
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
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"config key '{key}': cannot read {_value(value)} as {_type_name(tp)}") from None
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
        allowed = ", ".join(str(c) for c in choices)
        raise ConfigError(f"config key '{key}': {_value(value)} is not one of {allowed}"
                          f"{did_you_mean(shown(value, 80), [str(c) for c in choices])}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"config key '{key}': {_value(value)} is not a finite number")
        if "min" in meta and value < meta["min"]:
            raise ConfigError(f"config key '{key}': {_value(value)} is too small: must be ≥ {meta['min']}")
        if "above" in meta and value <= meta["above"]:
            raise ConfigError(f"config key '{key}': {_value(value)} is too small: must be > {meta['above']}")
        limit = meta.get("max", INT_LIMIT if isinstance(value, int) else FLOAT_LIMIT)
        if value > limit:
            raise ConfigError(f"config key '{key}': {_value(value)} is too large: must be ≤ {limit:g}")
        if value < -limit and "min" not in meta and "above" not in meta:
            raise ConfigError(f"config key '{key}': {_value(value)} is too small: must be ≥ {-limit:g}")
        if meta.get("multiple_of") and value % meta["multiple_of"]:
            raise ConfigError(f"config key '{key}': {_value(value)} must be a multiple of {meta['multiple_of']}")
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
    data = _read_yaml(p)
    if not isinstance(data, dict):
        raise ConfigError(f"config file {shown(p)} must be a mapping of key: value")
    flat: dict[str, Any] = {}
    for key, value in _str_keys(data, p):
        if key in ("engine", "model") and isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in _str_keys(value, p)})
        elif key in INFO_KEYS:
            continue  # informational keys written into run dirs
        else:
            flat[key] = value
    return flat


INFO_KEYS = ("variant", "data", "data_b", "plugin", "plugin_file")


def read_info(path: str | Path) -> dict[str, Any]:
    """The informational keys of a run's config.yaml (variant, data, plugin): plain values only."""
    try:
        data = _read_yaml(Path(path))
    except ConfigError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: data[k] for k in INFO_KEYS if k in data and (data[k] is None or isinstance(data[k], str))}


def _read_yaml(p: Path) -> Any:
    """A YAML file's document, one ConfigError line for anything wrong: missing, unreadable, over
    1 MiB, not UTF-8, not YAML, an alias bomb."""
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {shown(p)}") from None
    except OSError as err:
        raise ConfigError(f"cannot read config file {shown(p)}: {err.strerror or first_line(err)}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {shown(p)} is over {MAX_CONFIG_BYTES >> 20} MiB: a config is a few kB")
    try:
        return load_yaml(raw) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {shown(p)} is not valid YAML: {shown(first_line(err), 160)}") from None


def _str_keys(data: dict[Any, Any], p: Path) -> list[tuple[str, Any]]:
    for bad in (k for k in data if not isinstance(k, str)):
        raise ConfigError(f"config file {shown(p)}: key {_value(bad)} is not a name; keys are names like lr or batch_size")
    return list(data.items())


def to_plain(obj: Any) -> dict[str, Any]:
    out = {}
    for key, value in dataclasses.asdict(obj).items():
        out[key] = list(value) if isinstance(value, tuple) else value
    return out
