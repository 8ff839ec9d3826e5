"""Download, verify, extract and lay out a catalog dataset.

* Downloads stream with urllib into ``<data_dir>/.downloads/<name>/<file>.part`` with a
  rich progress bar, timeouts and retries; an interrupted download resumes with an
  HTTP Range request (a server that ignores Range is detected and the file restarted).
* The finished archive is checked against the catalog's size/SHA-256, or — where the
  catalog has none — against ``<data_dir>/translate-datasets.lock.json``, which records
  size and SHA-256 of the first download that extracted into the expected layout.
* A mismatch moves the download aside as ``<file>.bad`` (kept for inspection; nothing
  else is touched) and raises DataError saying what to do.
* Extraction is safe and atomic (:mod:`translate.data.catalog.extract`), then the archive's
  folders are moved onto our layout (:mod:`translate.data.catalog.layout`).
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from translate.data import catalog as cat
from translate.data.catalog.layout import VerifyReport, normalise, verify
from translate.data.catalog.extract import Limits, safe_extract
from translate.errors import DataError
from translate.files import atomic_write

LOCK_NAME = "translate-datasets.lock.json"
CHUNK = 1 << 16
USER_AGENT = "translate-datasets/1 (+python urllib)"
ProgressFn = Callable[[int, "int | None"], None]


class _Retryable(Exception):
    """A transient failure: the download may be retried (and resumed)."""


# --------------------------------------------------------------------------- download


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """Parse ``bytes START-END/TOTAL`` (or ``bytes */TOTAL``) into (start, total)."""
    m = re.match(r"bytes\s+(\d+|\*)(?:-\d+)?/(\d+|\*)", value or "")
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) != "*" else None
    total = int(m.group(2)) if m.group(2) != "*" else None
    return start, total


DEADLINE_S = 6 * 3600.0  # a whole download, retries included: a server trickling bytes cannot hold a run forever


def _length(value: str | None, url: str) -> int | None:
    """A Content-Length header as an int (None if absent); anything but digits is one DataError line."""
    if value is None:
        return None
    if not value.strip().isdigit():
        raise DataError(f"{url} sent an invalid Content-Length {_shown(value)!s}: expected a number of bytes")
    return int(value.strip())


def _shown(value: str) -> str:
    from translate.files import shown

    return repr(shown(value, 60))


def _download_once(url: str, part: Path, timeout: float, progress: ProgressFn | None,
                   until: float | None = None) -> None:
    """One request: append to (or restart) ``part``; raise _Retryable when cut short, DataError
    past the monotonic time ``until`` (the whole download's deadline)."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as err:
        if err.code == 416 and have:
            _, total = _content_range(err.headers.get("Content-Range"))
            if total == have:
                return  # the partial file is already complete
            part.unlink()
            raise _Retryable("partial download did not fit the server's file; restarting") from err
        if err.code in (408, 425, 429) or err.code >= 500:
            raise _Retryable(f"HTTP {err.code} {err.reason}") from err
        raise DataError(f"{url} answered HTTP {err.code} {err.reason}; check the URL (or pass --url)") from err
    except ValueError as err:
        raise DataError(f"'{url}' is not a usable URL ({err}); pass an http(s) URL or a file path") from err
    except (URLError, OSError, http.client.HTTPException) as err:
        raise _Retryable(str(getattr(err, "reason", err))) from err
    with resp:
        status = getattr(resp, "status", None) or 200
        length = _length(resp.headers.get("Content-Length"), url)
        start, total = _content_range(resp.headers.get("Content-Range"))
        if have and status == 206 and start == have:
            mode = "ab"
            total = total if total is not None else (have + length if length is not None else None)
        elif status == 206:
            part.unlink(missing_ok=True)
            raise _Retryable("server resumed at the wrong offset; restarting")
        else:  # 200: a fresh download, or a server that ignores Range
            mode, have = "wb", 0
            total = length
        done = have
        if progress:
            progress(done, total)
        try:
            with open(part, mode) as out:
                while chunk := resp.read1(CHUNK):  # what has arrived: a trickle cannot stall one read
                    if until is not None and time.monotonic() > until:
                        raise DataError(f"download of {url} is past its deadline ({done} bytes in); run the same "
                                        "command again to resume, or fetch it by hand")
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        except (OSError, http.client.HTTPException) as err:
            raise _Retryable(f"connection lost after {done} bytes ({err})") from err
    size = part.stat().st_size
    if total is not None and size < total:
        raise _Retryable(f"connection closed after {size} of {total} bytes")
    if total is not None and size > total:
        part.unlink()
        raise _Retryable(f"received {size} bytes, more than the announced {total}; restarting")


def download(
    url: str,
    dest: Path,
    *,
    retries: int = 4,
    timeout: float = 30.0,
    backoff: float = 1.0,
    progress: ProgressFn | None = None,
    deadline: float | None = DEADLINE_S,
) -> Path:
    """Download ``url`` to ``dest`` via ``dest.part``, resuming and retrying as needed, within
    ``deadline`` seconds overall (None: no limit).

    An existing ``dest`` is taken as complete (the caller verifies it). After the last
    retry the partial file stays, so running the same command again resumes.
    """
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures = 0
    until = None if deadline is None else time.monotonic() + deadline
    while True:
        try:
            _download_once(url, part, timeout, progress, until)
            os.replace(part, dest)
            return dest
        except _Retryable as err:
            failures += 1
            if until is not None and time.monotonic() > until:
                raise DataError(f"download of {url} is past its deadline ({err}); run the same command again "
                                "to resume") from None
            if failures > retries:
                kept = part.stat().st_size if part.exists() else 0
                raise DataError(
                    f"download of {url} failed after {failures} tries ({err}); "
                    f"run the same command again to resume ({kept} bytes kept in {part})"
                ) from None
            time.sleep(backoff * 2 ** (failures - 1))


@contextmanager
def progress_bar(label: str, console: Console | None = None) -> Iterator[ProgressFn]:
    """A rich download bar (on stderr); yields the ``(done, total)`` callback to feed it."""
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console or Console(stderr=True)) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------------- lock file


def lock_path(root: Path) -> Path:
    """The lock file recording archives first seen without a catalog checksum."""
    return root / LOCK_NAME


def read_lock(root: Path) -> dict[str, dict[str, object]]:
    """``{url: {dataset, file, size, sha256, recorded}}`` from the lock file ({} if none)."""
    path = lock_path(root)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return dict(data["archives"])
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(f"{path} is not a valid lock file ({err}); fix or delete it") from err


def _record(root: Path, url: str, name: str, archive: Path, size: int, sha: str) -> None:
    """Add one archive to the lock file (written atomically)."""
    archives = read_lock(root)
    archives[url] = {
        "dataset": name,
        "file": archive.name,
        "size": size,
        "sha256": sha,
        "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write(lock_path(root), json.dumps({"version": 1, "archives": archives}, indent=2) + "\n")


def _check_archive(archive: Path, entry: cat.Dataset, url: str, root: Path) -> tuple[str, bool]:
    """Verify size/SHA-256 against catalog or lock; return (sha256, needs_recording)."""
    locked = read_lock(root).get(url, {})
    size_want = entry.size or int(locked.get("size", 0) or 0)
    sha_want = entry.sha256 or str(locked.get("sha256", ""))
    origin = "the catalog" if (entry.sha256 or entry.size) else f"the lock file {lock_path(root)}"
    size = archive.stat().st_size
    sha = "" if size_want and size != size_want else sha256_file(archive)
    if size_want and size != size_want:
        problem = f"is {size} bytes, {origin} expects {size_want}"
    elif sha_want and sha != sha_want:
        problem = f"has SHA-256 {sha}, {origin} expects {sha_want}"
    else:
        return sha, not (entry.sha256 or locked)
    bad = archive.with_name(archive.name + ".bad")
    os.replace(archive, bad)
    fix = f"retry with `translate datasets fetch {entry.name} --force`"
    if not entry.sha256 and locked:
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
                download(mirror, archive, retries=retries, timeout=timeout, backoff=backoff,
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
        _record(root, source, entry.name, archive, archive.stat().st_size, sha)
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
