"""Turn what a user names as a model into a local file: a path, a catalog name, or hf://.

    resolve("runs/h2z")             -> the path itself (an existing path always wins)
    resolve("horse2zebra")          -> ~/.cache/translate/models/horse2zebra.pth (fetched once)
    resolve("hf://me/h2z@v1")       -> the Hub snapshot's model.safetensors (huggingface_hub's cache)

Nothing here reads weights: the file goes to `translate.inference.sources`, which loads it
under the same no-code rules as every other source.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from translate.errors import PluginError
from translate.hub import catalog


@dataclass(frozen=True)
class Resolved:
    """A local model file, and what its catalog entry says reads it."""

    path: Path
    variant: str | None = None
    name: str = ""  # the catalog name or hf:// address it came from ("" for a plain path)


def resolve(source: str | Path, plugins: Sequence[str] = ()) -> Resolved:
    """A local path for ``source``; catalog names are fetched into the cache first."""
    if isinstance(source, Path):
        return Resolved(source)
    text = str(source)
    if text.startswith("hf://"):
        from translate.hub.hf import resolve_hf

        return Resolved(resolve_hf(text), None, text)
    path = Path(text).expanduser()
    if path.exists() or not catalog.looks_like_name(text):
        return Resolved(path)  # a missing path is the loader's to report
    entry = catalog.get_entry(text)  # unknown: did-you-mean, exit 2
    require_variant(entry.name, entry.variant, plugins)  # before downloading anything
    return Resolved(catalog.fetch(entry.name).path, entry.variant, entry.name)


def require_variant(name: str, variant: str, plugins: Sequence[str] = ()) -> None:
    """One line when the variant a catalog model needs is not registered (pix2pix before it lands)."""
    from translate import discovery
    from translate.variant import VARIANTS

    discovery.load_all(list(plugins))
    if variant not in VARIANTS:
        raise PluginError(f"pretrained model '{name}' needs the '{variant}' variant, which is not registered here "
                          f"(known: {', '.join(sorted(VARIANTS.names()))}); install a translate with the {variant} plugin")
