"""translate: image-to-image GANs for PyTorch.

    import translate
    t = translate.load("runs/h2z")               # a run dir, checkpoint, .pth, .safetensors or .onnx
    zebra = t(Image.open("horse.jpg"))            # PIL in, PIL out; also uint8 arrays, float tensors, lists
    model = translate.open_model("runs/h2z")      # every translator of a source: model.translators["BtoA"]

Attributes are imported lazily, so `import translate` stays light (no torch until it is used).
Writing a variant: `translate.variant` (Variant, VariantConfig, option, register_variant),
`translate.nets` (register_net, build_net), `translate.kit.losses` (objectives), and the family
bases in `translate.kit.families`.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
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
        from translate.jobs.provenance import version

        return version()
    raise AttributeError(f"module 'translate' has no attribute {name!r}")


# Where modules of earlier versions live now: old import paths keep working for plugins written
# against them (the same module object answers to both names).
_MOVED = {
    **{f"translate.{m}": f"translate.kit.{m}" for m in ("families", "losses", "history", "perceptual", "schedules")},
    **{f"translate.{m}": f"translate.jobs.{m}"
       for m in ("train", "sizes", "rundir", "provenance", "progress", "logs", "gallery", "evaluate")},
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old module name with the module at its new place (no second copy is made)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        return importlib.util.spec_from_loader(fullname, self) if fullname in _MOVED else None

    def create_module(self, spec: Any) -> Any:
        module = importlib.import_module(_MOVED[spec.name])
        self._spec = module.__spec__  # the import system overwrites __spec__ with the alias's
        return module

    def exec_module(self, module: Any) -> None:
        module.__spec__ = self._spec


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())
