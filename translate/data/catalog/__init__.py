"""The catalog of real datasets: what exists, where it lives locally, and name resolution.

The catalog itself is ``translate/data/catalog/catalog.toml`` (documented in datasets/README.md).
This module reads it into :class:`Dataset` entries, decides the per-user data directory,
and turns a ``--data`` value (a folder or a catalog name) into a folder path.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from translate.errors import DataError

CATALOG_FILE = Path(__file__).with_name("catalog.toml")
KINDS = ("unpaired", "paired", "labelled", "sr")
ARCHIVES = ("zip", "tar.gz", "tar", "")
ENV_DATA_DIR = "TRANSLATE_DATA"


@dataclass(frozen=True)
class Dataset:
    """One catalog entry (see the field notes at the top of catalog.toml)."""

    name: str
    kind: str
    urls: tuple[str, ...] = ()
    archive: str = ""
    size: int = 0
    sha256: str = ""
    approx_size: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    counts_verified: bool = False
    layout: dict[str, str] = field(default_factory=dict)
    licence: str = ""
    source: str = ""
    manual: str = ""

    @property
    def is_manual(self) -> bool:
        """True when the dataset's terms forbid automatic download."""
        return bool(self.manual)

    @property
    def total_images(self) -> int:
        """Sum of the expected image counts over all splits."""
        return sum(self.counts.values())


def _entry(name: str, raw: dict[str, Any]) -> Dataset:
    """Validate one raw TOML table and build its :class:`Dataset`."""
    kind = raw.get("kind", "")
    if kind not in KINDS:
        raise DataError(f"catalog entry '{name}': kind '{kind}' is not one of {', '.join(KINDS)}")
    archive = raw.get("archive", "")
    if archive not in ARCHIVES:
        raise DataError(f"catalog entry '{name}': archive '{archive}' is not one of zip, tar.gz, tar")
    sha = str(raw.get("sha256", "")).lower()
    if sha and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        raise DataError(f"catalog entry '{name}': sha256 must be 64 hex digits or empty")
    return Dataset(
        name=name,
        kind=kind,
        urls=tuple(raw.get("urls", ())),
        archive=archive,
        size=int(raw.get("size", 0)),
        sha256=sha,
        approx_size=str(raw.get("approx_size", "")),
        counts={str(k): int(v) for k, v in raw.get("counts", {}).items()},
        counts_verified=bool(raw.get("counts_verified", False)),
        layout={str(k): str(v) for k, v in raw.get("layout", {}).items()},
        licence=str(raw.get("licence", "")),
        source=str(raw.get("source", "")),
        manual=str(raw.get("manual", "")),
    )


def parse_catalog(text: str) -> dict[str, Dataset]:
    """Parse catalog TOML text into ``{name: Dataset}``, in file order."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise DataError(f"dataset catalog is not valid TOML ({err}); reinstall translate") from err
    return {name: _entry(name, table) for name, table in raw.get("datasets", {}).items()}


@lru_cache(maxsize=1)
def _load_default() -> dict[str, Dataset]:
    try:
        text = CATALOG_FILE.read_text(encoding="utf-8")
    except OSError as err:
        raise DataError(f"dataset catalog {CATALOG_FILE} is missing; reinstall translate") from err
    return parse_catalog(text)


def load_catalog(path: str | Path | None = None) -> dict[str, Dataset]:
    """Return the catalog as ``{name: Dataset}`` (the shipped one unless ``path`` is given)."""
    if path is None:
        return dict(_load_default())
    return parse_catalog(Path(path).read_text(encoding="utf-8"))


def get_entry(name: str) -> Dataset:
    """Look a dataset up by name (case-insensitive); DataError listing names if unknown."""
    catalog = load_catalog()
    entry = catalog.get(name) or catalog.get(name.lower())
    if entry is None:
        raise DataError(
            f"'{name}' is not in the dataset catalog (known: {_some_names(catalog)}); "
            "see `translate datasets list`"
        )
    return entry


def _some_names(catalog: dict[str, Dataset], n: int = 6) -> str:
    names = list(catalog)
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


def data_dir(override: str | Path | None = None) -> Path:
    """Where datasets live: ``override`` > $TRANSLATE_DATA > $TRANSLATE_HOME/datasets > $XDG_CACHE_HOME or
    ~/.cache (+ translate/datasets)."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    home = os.environ.get("TRANSLATE_HOME")
    if home:
        return Path(home).expanduser() / "datasets"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "translate" / "datasets"


_data_dir = data_dir  # resolve_data's parameter is also called data_dir


def dataset_path(name: str, root: str | Path | None = None) -> Path:
    """The folder a catalog dataset occupies (fetched or not)."""
    return data_dir(root) / name


def is_fetched(name: str, root: str | Path | None = None) -> bool:
    """True once ``name`` has been fetched (or placed by hand) into the data dir.

    Fetches rename the finished folder into place in one step, so an existing,
    non-empty folder means a complete dataset.
    """
    folder = dataset_path(name, root)
    return folder.is_dir() and any(folder.iterdir())


def resolve_data(value: str, data_dir: str | Path | None = None) -> Path:  # noqa: A002
    """Turn a ``--data`` value into a dataset folder.

    An existing path wins; otherwise a catalog name resolves to its fetched folder.
    Raises DataError saying how to fetch a known-but-missing dataset, or that
    ``value`` is neither a folder nor a catalog name.
    """
    path = Path(value).expanduser()
    if path.exists():
        return path
    catalog = load_catalog()
    name = value if value in catalog else value.lower()
    if name in catalog:
        entry = catalog[name]
        if is_fetched(name, data_dir):
            return dataset_path(name, data_dir)
        if entry.is_manual:
            raise DataError(
                f"dataset '{name}' must be downloaded by hand (its terms forbid redistribution): "
                f"{entry.manual.replace('<data_dir>', str(_data_dir(data_dir)))}"
            )
        raise DataError(
            f"dataset '{name}' is not downloaded yet: run `translate datasets fetch {name}`"
        )
    raise DataError(
        f"--data '{value}' is neither an existing folder nor a catalog dataset name "
        f"(known: {_some_names(catalog)}); see `translate datasets list`"
    )
