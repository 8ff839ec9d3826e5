"""One downloader for every catalog (datasets and pretrained models).

Downloads stream with urllib into ``<dest>.part`` with timeouts and retries; an interrupted
download resumes with an HTTP Range request (a server that ignores Range is detected and the
file restarted); the finished file is renamed into place in one step, and a full disk ends in
one line with the partial file removed. ``mirrored`` applies ``$TRANSLATE_MIRROR`` (air-gapped
sites, tests): every catalog URL is fetched from ``MIRROR/<path of the original URL>``.
``progress_bar`` draws the bytes as they come (a bar in a terminal, a plain line every few
seconds elsewhere); ``sha256_file`` is the checksum both lock files record, and ``Lock`` is
that file: what the first verified download of a file with no published checksum was, which
every later download must match.
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
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

from translate.jobs import logs
from translate.errors import DataError

MIRROR_ENV = "TRANSLATE_MIRROR"
CHUNK = 1 << 16
USER_AGENT = "translate-datasets/1 (+python urllib)"
ProgressFn = Callable[[int, "int | None"], None]


class _Retryable(Exception):
    """A transient failure: the download may be retried (and resumed)."""


# --------------------------------------------------------------------------- download


def mirrored(url: str) -> str:
    """``url`` as fetched here: ``$TRANSLATE_MIRROR/<path of url>`` when the variable is set."""
    base = os.environ.get(MIRROR_ENV, "").strip()
    parsed = urlparse(url)
    if not base or parsed.scheme not in ("http", "https"):
        return url
    return base.rstrip("/") + parsed.path


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
        from translate.files import shown

        raise DataError(f"{url} sent an invalid Content-Length {shown(value, 60)!r}: expected a number of bytes")
    return int(value.strip())


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
                    _write(out, chunk, part)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        except DataError:
            raise
        except (OSError, http.client.HTTPException) as err:
            raise _Retryable(f"connection lost after {done} bytes ({err})") from err
    size = part.stat().st_size
    if total is not None and size < total:
        raise _Retryable(f"connection closed after {size} of {total} bytes")
    if total is not None and size > total:
        part.unlink()
        raise _Retryable(f"received {size} bytes, more than the announced {total}; restarting")


def _write(out: object, chunk: bytes, part: Path) -> None:
    """Append one chunk; a full disk removes the partial file and ends in one line."""
    try:
        out.write(chunk)  # type: ignore[attr-defined]
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        out.close()  # type: ignore[attr-defined]
        part.unlink(missing_ok=True)
        raise DataError(f"the disk holding {part.parent} is full; free some space (or point the cache "
                        "elsewhere) and run the same command again") from None


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


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


@contextmanager
def progress_bar(label: str, console: Console | None = None, every_s: float = 5.0) -> Iterator[ProgressFn]:
    """Yields the ``(done, total)`` callback of a download's progress: a rich bar in a terminal,
    elsewhere a plain line every ``every_s`` seconds and one at the end (nothing under -q)."""
    if logs.verbosity() == 0:
        yield lambda done, total: None
        return
    if console is not None or logs.is_tty():
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console or Console(stderr=True)) as bar:
            task = bar.add_task(label, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)
        return
    t0 = last = time.perf_counter()
    state = {"done": 0, "total": None, "start": None}

    def line() -> None:
        done, total = state["done"], state["total"]
        rate = (done - (state["start"] or 0)) / max(time.perf_counter() - t0, 1e-9)
        share = f" of {_mb(total)} ({100 * done / total:.0f}%)" if total else ""
        sys.stderr.write(f"{label}: {_mb(done)}{share}, {rate / 1e6:.1f} MB/s\n")
        sys.stderr.flush()

    def update(done: int, total: int | None) -> None:
        nonlocal last
        if state["start"] is None:
            state["start"] = done  # resumed bytes are not this run's speed
        state["done"], state["total"] = done, total
        if time.perf_counter() - last >= every_s:
            last = time.perf_counter()
            line()

    yield update
    if state["start"] is not None:
        line()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Lock:
    """A lock file of first-seen downloads, ``{"version": 1, table: {url: {kind: name, file, size,
    sha256, recorded}}}``: the catalogs' checksums where the publisher gives none."""

    path: Path
    table: str  # "archives" (datasets) or "models"
    kind: str  # what each entry names: "dataset" or "model"

    def read(self) -> dict[str, dict[str, Any]]:
        """``{url: entry}`` ({} when there is no lock file yet)."""
        if not self.path.exists():
            return {}
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8"))[self.table])
        except (ValueError, KeyError, TypeError) as err:
            raise DataError(f"{self.path} is not a valid lock file ({err}); fix or delete it") from err

    def record(self, url: str, name: str, file: str, size: int, sha: str) -> None:
        """Add one download (the file is written atomically)."""
        from translate.files import atomic_write

        entries = self.read()
        entries[url] = {self.kind: name, "file": file, "size": size, "sha256": sha,
                        "recorded": datetime.now(UTC).isoformat(timespec="seconds")}
        atomic_write(self.path, json.dumps({"version": 1, self.table: entries}, indent=2) + "\n")

    def expected(self, url: str, size: int, sha256: str) -> tuple[int, str, str]:
        """(size, sha256, where from) a download must match: the catalog's own `size` and `sha256`,
        each filled from what this lock recorded where the catalog has none (0, "": nothing known)."""
        locked = {} if sha256 else self.read().get(url, {})
        origin = "the catalog" if size or sha256 else f"the lock file {self.path}"
        return size or int(locked.get("size", 0) or 0), sha256 or str(locked.get("sha256", "")), origin


def mismatch(path: Path, size_want: int, sha_want: str, origin: str) -> tuple[int, str, str]:
    """(size, sha256, problem) of `path` against what it must be (problem '' = it matches, or nothing
    is known); the file is hashed only when its size does not already tell."""
    size = path.stat().st_size
    if size_want and size != size_want:
        return size, "", f"is {size} bytes, {origin} expects {size_want}"
    sha = sha256_file(path)
    if sha_want and sha != sha_want:
        return size, sha, f"has SHA-256 {sha}, {origin} expects {sha_want}"
    return size, sha, ""

