"""What a model file may say about itself: typed, validated data — never code.

`TranslatorMeta` is what inference needs to run one generator without the training code
(channels, value ranges, size multiple, scale; for noise generators z and classes).
`ModelSpec` is the JSON stored inside or beside a weights file (safetensors header or
sidecar, ONNX metadata): the variant by registered *name*, its config or the architecture,
and the meta of every translator. Both are read through `from_dict`/`from_json`, which
check the type and range of every field and cap the JSON's size, so a malformed or hostile
file ends in one line naming the field. A spec may name the plugin a variant came from
(`plugin`), but only as a hint for the user: loading never imports anything it names.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from translate.errors import WeightsError
from translate.files import first_line

SPEC_FORMAT = "translate.translator/1"
MAX_JSON_BYTES = 1 << 20  # a model's JSON is a few kB; anything near a megabyte is not ours
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")  # variant, translator and net names
INPUTS = ("image", "noise")
Z_DISTS = ("normal", "uniform")


def is_name(value: Any) -> bool:
    """A registered-name-shaped string: letters, digits, `_ . -`, no path separators, not a .py file."""
    return isinstance(value, str) and bool(NAME.match(value)) and not value.lower().endswith(".py")


class _Fields:
    """Reads fields of one JSON object with type/range checks; errors name `where` and the field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise WeightsError(f"{where}: expected a JSON object, got {type(data).__name__}")
        self.data, self.where = data, where

    def fail(self, key: str, why: str) -> WeightsError:
        return WeightsError(f"{self.where}: field '{key}' {why}")

    def int(self, key: str, default: int, lo: int, hi: int) -> int:
        value = self.data.get(key, default)
        if value is None:
            value = default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
            raise self.fail(key, f"must be an integer, got {value!r:.60}")
        if not lo <= int(value) <= hi:
            raise self.fail(key, f"must be in {lo}..{hi}, got {int(value)}")
        return int(value)

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.data.get(key, default)
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, got {value!r:.60}")
        return str(value)

    def range(self, key: str, default: tuple[float, float]) -> tuple[float, float]:
        value = self.data.get(key, default)
        ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
        if not ok or not float(value[0]) < float(value[1]):
            raise self.fail(key, f"must be [low, high] with finite low < high, got {value!r:.60}")
        return float(value[0]), float(value[1])

    def names(self, key: str, limit: int) -> tuple[str, ...]:
        value = self.data.get(key) or []
        if not isinstance(value, (list, tuple)) or len(value) > limit or not all(
                isinstance(v, str) and 0 < len(v) <= 200 for v in value):
            raise self.fail(key, f"must be a list of at most {limit} short strings")
        return tuple(value)


@dataclass(frozen=True)
class TranslatorMeta:
    """How to run one generator. Image translators: `input` "image" (in/out channels and value
    ranges, the size multiple the net needs, the output scale). Noise translators: `input`
    "noise" (z_dim, z distribution, classes and their names, output channels/range/size)."""

    input: str = "image"
    in_channels: int = 3
    out_channels: int = 3
    in_range: tuple[float, float] = (-1.0, 1.0)
    out_range: tuple[float, float] = (-1.0, 1.0)
    size_multiple: int = 1
    scale: int = 1
    z_dim: int = 0
    z_dist: str = "normal"
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    image_size: int = 0

    @property
    def is_noise(self) -> bool:
        return self.input == "noise"

    @classmethod
    def image(cls, in_channels: int = 3, out_channels: int = 3, in_range: tuple[float, float] = (-1.0, 1.0),
              out_range: tuple[float, float] = (-1.0, 1.0), size_multiple: int = 1, scale: int = 1) -> TranslatorMeta:
        return cls.from_dict({"input": "image", "in_channels": in_channels, "out_channels": out_channels,
                              "in_range": list(in_range), "out_range": list(out_range),
                              "size_multiple": size_multiple, "scale": scale}, "translator meta")

    @classmethod
    def noise(cls, z_dim: int, out_channels: int, out_range: tuple[float, float], image_size: int,
              num_classes: int = 0, class_names: tuple[str, ...] = (), z_dist: str = "normal") -> TranslatorMeta:
        return cls.from_dict({"input": "noise", "z_dim": z_dim, "z_dist": z_dist, "num_classes": num_classes,
                              "out_channels": out_channels, "out_range": list(out_range), "image_size": image_size,
                              "class_names": list(class_names)}, "translator meta")

    @classmethod
    def from_dict(cls, data: Any, where: str = "translator meta") -> TranslatorMeta:
        """A validated meta from its JSON form (or a TranslatorMeta, returned as it is)."""
        if isinstance(data, TranslatorMeta):
            return data
        f = _Fields(data, where)
        kind = f.choice("input", "image", INPUTS)
        out_channels, out_range = f.int("out_channels", 3, 1, 64), f.range("out_range", (-1.0, 1.0))
        if kind == "image":
            return cls("image", f.int("in_channels", 3, 1, 64), out_channels, f.range("in_range", (-1.0, 1.0)),
                       out_range, f.int("size_multiple", 1, 1, 4096), f.int("scale", 1, 1, 16))
        num_classes = f.int("num_classes", 0, 0, 100_000)
        names = f.names("class_names", 100_000)
        if names and len(names) != num_classes:
            raise f.fail("class_names", f"has {len(names)} names for {num_classes} classes")
        return cls("noise", out_channels=out_channels, out_range=out_range, z_dim=f.int("z_dim", 0, 1, 1_000_000),
                   z_dist=f.choice("z_dist", "normal", Z_DISTS), num_classes=num_classes, class_names=names,
                   image_size=f.int("image_size", 0, 0, 1 << 16))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the keys of the kind only; the same layout translate 0.1 wrote)."""
        if self.input == "image":
            return {"input": "image", "in_channels": self.in_channels, "out_channels": self.out_channels,
                    "in_range": list(self.in_range), "out_range": list(self.out_range),
                    "size_multiple": self.size_multiple, "scale": self.scale}
        out: dict[str, Any] = {"input": "noise", "z_dim": self.z_dim, "z_dist": self.z_dist,
                               "num_classes": self.num_classes, "out_channels": self.out_channels,
                               "out_range": list(self.out_range), "image_size": self.image_size}
        if self.class_names:
            out["class_names"] = list(self.class_names)
        return out

    def with_class_names(self, names: list[str] | tuple[str, ...]) -> TranslatorMeta:
        from dataclasses import replace

        if not self.is_noise or not self.num_classes or len(names) != self.num_classes:
            return self
        return replace(self, class_names=tuple(str(n) for n in names))


def plugin_label(plugin_file: Any) -> str:
    """0.1 recorded a plugin as `plugin_file: /absolute/path.py`; now it is `file NAME.py` (a hint only)."""
    if not isinstance(plugin_file, str) or not plugin_file:
        return ""
    return f"file {plugin_file.replace(chr(92), '/').rsplit('/', 1)[-1]}"


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


@dataclass
class ModelSpec:
    """The JSON a weights file carries: how to rebuild its translators (a registered variant and
    its config, or a registered architecture and its keyword arguments) and their meta."""

    variant: str
    translators: dict[str, TranslatorMeta]
    config: dict[str, Any] | None = None
    arch: dict[str, Any] | None = None  # {"name": registered net, "kwargs": {key: scalar}}
    plugin: str = ""  # where the variant came from, as a hint for the user; never imported
    extra: dict[str, Any] = field(default_factory=dict)  # provenance, quantization, rewrites, test_mode: plain data

    @classmethod
    def from_json(cls, text: str | bytes, where: str) -> ModelSpec:
        if len(text) > MAX_JSON_BYTES:
            raise WeightsError(f"{where}: its JSON is {len(text):,} bytes, over the {MAX_JSON_BYTES:,}-byte limit")
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
            raise WeightsError(f"{where}: not valid JSON ({first_line(err)[:100]})") from None
        return cls.from_dict(data, where)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> ModelSpec:
        f = _Fields(data, where)
        if data.get("format") != SPEC_FORMAT:
            raise f.fail("format", f"must be '{SPEC_FORMAT}' (is it a translate export?), got {data.get('format')!r:.60}")
        variant = data.get("variant")
        if not is_name(variant):
            raise f.fail("variant", f"must be a registered variant name (never a path), got {variant!r:.80}")
        metas = data.get("translators")
        if not isinstance(metas, dict) or not metas or len(metas) > 64:
            raise f.fail("translators", "must be an object of 1 to 64 translators")
        translators = {}
        for name, meta in metas.items():
            if not is_name(name):
                raise f.fail("translators", f"has a bad translator name {name!r:.60}")
            translators[name] = TranslatorMeta.from_dict(meta, f"{where}: translator '{name}'")
        config = data.get("config")
        if config is not None and not (isinstance(config, dict) and all(isinstance(k, str) for k in config)):
            raise f.fail("config", "must be an object of config values")
        arch = data.get("arch")
        if arch is not None:
            kwargs = arch.get("kwargs", {}) if isinstance(arch, dict) else None
            if not (isinstance(arch, dict) and is_name(arch.get("name")) and isinstance(kwargs, dict)
                    and all(k.isidentifier() and _scalar(v) for k, v in kwargs.items())):
                raise f.fail("arch", "must be {\"name\": a registered architecture, \"kwargs\": {name: value}}")
        plugin = data.get("plugin") or plugin_label(data.get("plugin_file"))
        if not isinstance(plugin, str):
            raise f.fail("plugin", "must be a string")
        extra = {k: v for k, v in data.items() if k in ("provenance", "quantization", "rewrites", "test_mode")}
        return cls(variant, translators, config, arch, plugin[:300], extra)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": SPEC_FORMAT, "variant": self.variant}
        if self.plugin:
            out["plugin"] = self.plugin
        if self.config is not None:
            out["config"] = self.config
        if self.arch is not None:
            out["arch"] = self.arch
        out["translators"] = {n: m.to_dict() for n, m in self.translators.items()}
        out.update(self.extra)
        return out

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def subset(self, names: list[str]) -> ModelSpec:
        return ModelSpec(self.variant, {n: self.translators[n] for n in names}, self.config, self.arch,
                         self.plugin, dict(self.extra))
