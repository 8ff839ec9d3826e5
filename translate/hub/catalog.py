"""The catalog of pretrained generators: what exists, where it is cached, fetch and verify.

The catalog is ``translate/hub/models.toml`` (field notes at its top). Files are cached in
``$TRANSLATE_HOME/models/NAME.pth`` (default ``~/.cache/translate``). A download lands under
a temporary name, is checked against the catalog's size/SHA-256 or — where the catalog has
none, which is every entry today — against ``models/translate-models.lock.json``, which the
first verified download fills; only then is it renamed to its final name. A mismatch deletes
the file and says what was expected and what came.
"""
from __future__ import annotations

import os
import tomllib
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from translate.config import did_you_mean
from translate.errors import ConfigError, DataError, WeightsError
from translate.hub.download import Lock, download, mirrored, mismatch, progress_bar

CATALOG_FILE = Path(__file__).with_name("models.toml")
LOCK_NAME = "translate-models.lock.json"
HOME_ENV = "TRANSLATE_HOME"
GENERATORS = ("resnet_9blocks", "unet_256")
NORMS = ("instance", "batch")


@dataclass(frozen=True)
class Pretrained:
    """One catalog entry (see the field notes at the top of models.toml)."""

    name: str
    variant: str
    generator: str
    norm: str
    does: str
    data: str
    url: str
    size: int = 0
    sha256: str = ""
    approx_size: str = ""
    licence: str = ""
    citation: str = ""
    source: str = ""

    @property
    def architecture(self) -> str:
        return f"{self.generator}, {self.norm} norm"


def _entry(name: str, raw: dict[str, Any]) -> Pretrained:
    where = f"model catalog entry '{name}'"
    if raw.get("generator") not in GENERATORS:
        raise DataError(f"{where}: generator must be one of {', '.join(GENERATORS)}")
    if raw.get("norm") not in NORMS:
        raise DataError(f"{where}: norm must be one of {', '.join(NORMS)}")
    sha = str(raw.get("sha256", "")).lower()
    if sha and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        raise DataError(f"{where}: sha256 must be 64 hex digits or empty")
    fields = {k: str(raw.get(k, "")) for k in ("variant", "generator", "norm", "does", "data", "url",
                                                "approx_size", "licence", "citation", "source")}
    if not fields["variant"] or not fields["url"]:
        raise DataError(f"{where}: needs a variant and a url")
    return Pretrained(name=name, size=int(raw.get("size", 0)), sha256=sha, **fields)


def parse_catalog(text: str) -> dict[str, Pretrained]:
    """Parse catalog TOML text into ``{name: Pretrained}``, in file order."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise DataError(f"model catalog is not valid TOML ({err}); reinstall translate") from err
    return {name: _entry(name, table) for name, table in raw.get("models", {}).items()}


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Pretrained]:
    return parse_catalog(CATALOG_FILE.read_text(encoding="utf-8"))


def load_catalog() -> dict[str, Pretrained]:
    """The shipped catalog as ``{name: Pretrained}``."""
    return dict(_shipped())


def get_entry(name: str) -> Pretrained:
    """A catalog entry by name; ConfigError with a did-you-mean line if unknown."""
    catalog = load_catalog()
    entry = catalog.get(name) or catalog.get(name.lower())
    if entry is None:
        raise ConfigError(f"'{name}' is neither an existing file nor a pretrained model name"
                          f"{did_you_mean(name.lower(), catalog)} (see `translate models list`)")
    return entry


def looks_like_name(value: str) -> bool:
    """A bare word (no folder, no file suffix): what a catalog name looks like."""
    return bool(value) and "/" not in value and os.sep not in value and "." not in value


# --- the cache ------------------------------------------------------------------------------------
def home() -> Path:
    """``$TRANSLATE_HOME``, else ``$XDG_CACHE_HOME/translate``, else ``~/.cache/translate``."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "translate"


def models_dir() -> Path:
    return home() / "models"


def cache_path(name: str) -> Path:
    """Where a catalog model's file lives once fetched (fetched or not)."""
    return models_dir() / f"{name}.pth"


def lock() -> Lock:
    """The models' lock file: the size and SHA-256 each model's first verified download had."""
    return Lock(models_dir() / LOCK_NAME, "models", "model")


def lock_path() -> Path:
    return lock().path


def read_lock() -> dict[str, dict[str, Any]]:
    """``{url: {model, file, size, sha256, recorded}}`` ({} when there is no lock file yet)."""
    return lock().read()


def expected(entry: Pretrained) -> tuple[int, str, str]:
    """(size, sha256, where from) a download must match: the catalog's, else the lock file's."""
    return lock().expected(entry.url, entry.size, entry.sha256)


def check(entry: Pretrained, path: Path) -> tuple[int, str, str]:
    """(size, sha256, problem) of a file against what it must be ('' = fine or nothing known)."""
    return mismatch(path, *expected(entry))


@dataclass(frozen=True)
class Fetched:
    """What :func:`fetch` did."""

    name: str
    path: Path
    sha256: str = ""
    recorded: bool = False
    already: bool = False


def fetch(name: str, *, force: bool = False, retries: int = 4, timeout: float = 30.0, backoff: float = 1.0,
          show_progress: bool = True) -> Fetched:
    """The cached file of catalog model ``name``, downloaded (resuming) and verified if needed."""
    entry = get_entry(name)
    dest = cache_path(entry.name)
    if dest.is_file() and not force:
        return Fetched(entry.name, dest, already=True)
    incoming = dest.with_name(dest.name + ".download")  # verified before it gets the final name
    if force:
        incoming.unlink(missing_ok=True)
    url = mirrored(entry.url)
    with progress_bar(f"{entry.name}: {url}") if show_progress else nullcontext() as progress:
        download(url, incoming, retries=retries, timeout=timeout, backoff=backoff, progress=progress)
    size, sha, problem = check(entry, incoming)
    if problem:
        incoming.unlink(missing_ok=True)
        fix = f"run `translate models fetch {entry.name}` to try again"
        if not (entry.size or entry.sha256):
            fix += f"; if the published file really changed, delete its entry from {lock_path()}"
        raise WeightsError(f"download of '{entry.name}' from {url} {problem}; the file was deleted — {fix}")
    _, sha_want, _ = expected(entry)
    os.replace(incoming, dest)
    if not sha_want:
        lock().record(entry.url, entry.name, dest.name, size, sha)
    return Fetched(entry.name, dest, sha, recorded=not sha_want)


@dataclass(frozen=True)
class Verdict:
    """`translate models verify`: one cached model against the catalog or lock."""

    name: str
    status: str  # ok | mismatch | unrecorded | not fetched
    detail: str = ""


def verify(names: list[str] | None = None) -> list[Verdict]:
    """Check cached models (all fetched ones, or ``names``) against their recorded size and SHA-256."""
    catalog = load_catalog()
    chosen = [get_entry(n) for n in names] if names else [e for e in catalog.values() if cache_path(e.name).is_file()]
    out = []
    for entry in chosen:
        path = cache_path(entry.name)
        if not path.is_file():
            out.append(Verdict(entry.name, "not fetched", f"run `translate models fetch {entry.name}`"))
            continue
        size, sha, problem = check(entry, path)
        if problem:
            out.append(Verdict(entry.name, "mismatch", f"{path} {problem}"))
        elif not expected(entry)[1]:
            out.append(Verdict(entry.name, "unrecorded", f"{size} bytes, SHA-256 {sha} (no checksum known yet)"))
        else:
            out.append(Verdict(entry.name, "ok", f"{size} bytes, SHA-256 {sha}"))
    return out
