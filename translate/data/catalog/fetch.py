"""Download, verify, extract and lay out a catalog dataset.

* Downloads go into ``<data_dir>/.downloads/<name>/<file>`` through the shared downloader
  (:mod:`translate.hub.download`: progress, timeouts, retries, HTTP Range resume).
* The finished archive is checked against the catalog's size/SHA-256, or — where the
  catalog has none — against ``<data_dir>/translate-datasets.lock.json``, which records
  size and SHA-256 of the first download that extracted into the expected layout.
* A mismatch moves the download aside as ``<file>.bad`` (kept for inspection; nothing
  else is touched) and raises DataError saying what to do.
* Extraction is safe and atomic (:mod:`translate.data.catalog.extract`), then the archive's
  folders are moved onto our layout (:mod:`translate.data.catalog.layout`).
"""
from __future__ import annotations

import os
import re
import shutil
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from rich.console import Console

from translate.data import catalog as cat
from translate.data.catalog.layout import VerifyReport, normalise, verify
from translate.data.catalog.extract import Limits, safe_extract
from translate.errors import DataError
from translate.hub.download import Lock, download, mirrored, mismatch, progress_bar

LOCK_NAME = "translate-datasets.lock.json"


# ------------------------------------------------------------------------- lock file


def lock(root: Path) -> Lock:
    """The lock file recording archives first seen without a catalog checksum."""
    return Lock(root / LOCK_NAME, "archives", "dataset")


def lock_path(root: Path) -> Path:
    return lock(root).path


def read_lock(root: Path) -> dict[str, dict[str, object]]:
    """``{url: {dataset, file, size, sha256, recorded}}`` from the lock file ({} if none)."""
    return lock(root).read()


def _check_archive(archive: Path, entry: cat.Dataset, url: str, root: Path) -> tuple[str, bool]:
    """Verify size/SHA-256 against catalog or lock; return (sha256, needs_recording)."""
    size_want, sha_want, origin = lock(root).expected(url, entry.size, entry.sha256)
    _, sha, problem = mismatch(archive, size_want, sha_want, origin)
    if not problem:
        return sha, not sha_want
    bad = archive.with_name(archive.name + ".bad")
    os.replace(archive, bad)
    fix = f"retry with `translate datasets fetch {entry.name} --force`"
    if not entry.sha256 and url in read_lock(root):
        fix += f"; if the server's file really changed, delete the '{url}' entry from {lock_path(root)}"
    raise DataError(
        f"download for '{entry.name}' {problem}; it was kept aside as {bad} and nothing else "
        f"was changed — {fix}"
    )


# ------------------------------------------------------------------------ orchestration


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch_dataset` did."""

    name: str
    folder: Path
    sha256: str
    recorded: bool
    already: bool
    report: VerifyReport


def _source_url(entry: cat.Dataset, url: str | None) -> str:
    if entry.is_manual:
        raise DataError(
            f"dataset '{entry.name}' cannot be fetched automatically (its terms forbid "
            f"redistribution): {entry.manual}"
        )
    if url:
        local = Path(url).expanduser()
        return local.resolve().as_uri() if local.is_file() else url
    if not entry.urls:
        raise DataError(
            f"dataset '{entry.name}' has no stable download location: "
            f"run `translate datasets fetch {entry.name} --url URL` with a zip or tar of its images"
        )
    return entry.urls[0]


def _archive_name(entry: cat.Dataset, url: str) -> str:
    base = os.path.basename(urlparse(url).path)
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base)
    return base if base.strip(".") else f"{entry.name}.archive"


def fetch_dataset(
    name: str,
    *,
    data_dir: str | Path | None = None,
    url: str | None = None,
    force: bool = False,
    entry: cat.Dataset | None = None,
    retries: int = 4,
    timeout: float = 30.0,
    backoff: float = 1.0,
    limits: Limits | None = None,
    show_progress: bool = False,
    keep_archive: bool = False,
) -> FetchResult:
    """Fetch catalog dataset ``name`` into ``<data_dir>/<name>`` in our layout.

    ``url`` overrides the catalog's (an http(s) URL or a local archive path); ``entry``
    replaces the catalog lookup altogether (tests, private catalogs). Already-fetched
    datasets are left alone unless ``force``. ``show_progress`` draws a rich bar on
    stderr. Returns a :class:`FetchResult`.
    """
    entry = entry or cat.get_entry(name)
    root = cat.data_dir(data_dir)
    dest = root / entry.name
    if cat.is_fetched(entry.name, root) and not force:
        return FetchResult(entry.name, dest, "", False, True, verify(entry, dest))
    source = _source_url(entry, url)
    archive = root / ".downloads" / entry.name / _archive_name(entry, source)
    if force:
        archive.unlink(missing_ok=True)
    mirrors = [source] if url else list(entry.urls)
    bar = progress_bar(f"{entry.name}: {archive.name}") if show_progress else nullcontext(None)
    with bar as progress:
        for i, mirror in enumerate(mirrors):
            try:
                fetched = mirror if url else mirrored(mirror)  # the lock keys the original URL
                download(fetched, archive, retries=retries, timeout=timeout, backoff=backoff,
                         progress=progress)
                source = mirror
                break
            except DataError:
                if i == len(mirrors) - 1:
                    raise
    console = Console(stderr=True, quiet=not show_progress)
    with console.status(f"verifying and extracting {archive.name} ..."):
        sha, needs_record = _check_archive(archive, entry, source, root)
        unpacked = root / f".{entry.name}.unpacked-{uuid.uuid4().hex[:8]}"
        try:
            safe_extract(archive, unpacked, limits)
            normalise(unpacked, entry, dest, replace=force)
        finally:
            shutil.rmtree(unpacked, ignore_errors=True)
    if needs_record:
        lock(root).record(source, entry.name, archive.name, archive.stat().st_size, sha)
    if not keep_archive:
        archive.unlink()
        for folder in (archive.parent, archive.parent.parent):
            try:
                folder.rmdir()  # only if empty
            except OSError:
                break
    return FetchResult(entry.name, dest, sha, needs_record, False, verify(entry, dest))


def verify_dataset(name: str, data_dir: str | Path | None = None) -> VerifyReport:
    """Check a fetched catalog dataset's image counts per split."""
    entry = cat.get_entry(name)
    return verify(entry, cat.dataset_path(entry.name, data_dir))
