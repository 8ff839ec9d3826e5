"""Weight formats: state-dict layouts of other projects' generators, registered by the plugin
that owns them (cyclegan: junyanz's ResNet generator; pix2pix: junyanz's U-Net).

A bare `.pth` state dict (or a safetensors file without translate metadata) is matched against
the registered formats; the one that recognises its keys builds the net, loads the weights
(never running code: the dict is data) and says which variant and translator it is.

    @register_weight_format
    class MyLayout(WeightFormat):
        name, variant, layout = "my-layout", "mygan", "'net.0.weight' ... keys"
        def matches(self, sd): ...
        def build(self, sd, source): ...   # -> (net with the weights, {"name": arch, "kwargs": {...}})
"""
from __future__ import annotations

from typing import Any

from translate.meta import TranslatorMeta
from translate.registry import Registry


class WeightFormat:
    """One foreign state-dict layout of a generator."""

    name = ""  # the format's registered name
    variant = ""  # the variant its generators belong to
    translator = "AtoB"  # the translator name it loads as
    layout = ""  # what its keys look like, for the error when a file does not fit

    def matches(self, sd: dict[str, Any]) -> bool:
        raise NotImplementedError

    def build(self, sd: dict[str, Any], source: str) -> tuple[Any, dict[str, Any]]:
        """(the net holding `sd`, its architecture {"name", "kwargs"}); WeightsError if it does not fit."""
        raise NotImplementedError

    def meta(self, net: Any, arch: dict[str, Any]) -> TranslatorMeta:
        kw = arch["kwargs"]
        return TranslatorMeta.image(int(kw.get("in_channels", 3)), int(kw.get("out_channels", 3)),
                                    size_multiple=int(getattr(net, "size_multiple", 1)))


WEIGHT_FORMATS: Registry[WeightFormat] = Registry("weight format")


def register_weight_format(cls: type[WeightFormat]) -> type[WeightFormat]:
    """Class decorator: make a weight format known by its `name`."""
    WEIGHT_FORMATS.add(cls.name, cls())
    return cls


def formats_of(variant: str | None) -> list[WeightFormat]:
    """The registered formats (of `variant`'s generators, when given)."""
    return [f for _, f in WEIGHT_FORMATS.items() if variant in (None, f.variant)]


def recognise(sd: dict[str, Any], variant: str | None = None) -> WeightFormat | None:
    """The registered format whose layout `sd` has (among `variant`'s, when given)."""
    return next((f for f in formats_of(variant) if f.matches(sd)), None)
