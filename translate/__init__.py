"""translate: image-to-image GANs for PyTorch.

    import translate
    t = translate.load("runs/h2z")               # a run dir, checkpoint, .pth, .safetensors or .onnx
    zebra = t(Image.open("horse.jpg"))            # PIL in, PIL out; also uint8 arrays, float tensors, lists
    model = translate.open_model("runs/h2z")      # every translator of a source: model.translators["BtoA"]

Attributes are imported lazily, so `import translate` stays light (no torch until it is used).
Writing a variant: `translate.variant` (Variant, VariantConfig, option, register_variant),
`translate.nets` (register_net, build_net), `translate.losses` (objectives), and the family
bases in `translate.families`.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Model", "Translator", "__version__", "load", "open_model"]


def __getattr__(name: str) -> Any:
    if name in ("load", "open_model"):
        from translate.inference import loading

        return getattr(loading, name)
    if name in ("Translator", "Model"):
        from translate.inference import translator

        return getattr(translator, name)
    if name == "__version__":
        from translate.provenance import version

        return version()
    raise AttributeError(f"module 'translate' has no attribute {name!r}")
