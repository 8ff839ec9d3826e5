"""Safe extraction of zip and tar archives (tar, tar.gz, tar.bz2, tar.xz).

Rules, applied to every member before anything reaches its final place:

* no absolute paths, drive letters or ``..`` components (zip-slip);
* zip: no links at all; tar: links are never created on disk — a link whose target
  stays inside the archive is materialised as a copy of the target file, a link that
  points outside is refused;
* no device files, fifos or sockets;
* total uncompressed bytes and member count are capped (:class:`Limits`), counting the
  bytes actually written, so archives that lie in their headers are still stopped.

Extraction happens in a temporary folder next to the destination and is renamed into
place only when complete, so a failure leaves nothing half-made.
"""
from __future__ import annotations

import lzma
import os
import posixpath
import re
import shutil
import stat
import tarfile
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from translate.errors import DataError
from translate.files import first_line, shown

CHUNK = 1 << 20
ENV_MAX_BYTES = "TRANSLATE_EXTRACT_MAX_BYTES"
ENV_MAX_MEMBERS = "TRANSLATE_EXTRACT_MAX_MEMBERS"


@dataclass(frozen=True)
class Limits:
    """Bomb protection: caps on what one archive may expand to."""

    max_total_bytes: int = 64 * 1024**3
    max_members: int = 500_000
    max_ratio: float = 200.0  # bytes written per byte of archive (image datasets: ~1; a sparse tar: millions)...
    ratio_floor: int = 256 * 1024**2  # ...beyond this many bytes (small archives may expand any amount)

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, overridden by $TRANSLATE_EXTRACT_MAX_BYTES / $TRANSLATE_EXTRACT_MAX_MEMBERS."""
        base = cls()
        try:
            return cls(
                max_total_bytes=int(os.environ.get(ENV_MAX_BYTES, base.max_total_bytes)),
                max_members=int(os.environ.get(ENV_MAX_MEMBERS, base.max_members)),
            )
        except ValueError as err:
            raise DataError(f"{ENV_MAX_BYTES}/{ENV_MAX_MEMBERS} must be whole numbers ({err})") from err


class UnsafeArchiveError(DataError):
    """An archive member would escape the target, is a special file, or breaks a cap."""


class _Budget:
    """Counts members and bytes written against :class:`Limits`."""

    def __init__(self, archive: Path, limits: Limits) -> None:
        self.archive, self.limits = archive, limits
        self.bytes = 0
        self.members = 0
        try:
            size = archive.stat().st_size
        except OSError:
            size = 0
        self.cap = min(limits.max_total_bytes, max(limits.ratio_floor, int(limits.max_ratio * size)))

    def too_many(self) -> UnsafeArchiveError:
        return UnsafeArchiveError(
            f"{self.archive.name} has more than {self.limits.max_members} members "
            f"(possible archive bomb); set {ENV_MAX_MEMBERS} higher if you trust it"
        )

    def too_big(self) -> UnsafeArchiveError:
        if self.cap < self.limits.max_total_bytes:
            return UnsafeArchiveError(
                f"{shown(self.archive.name)} expands past {self.cap:,} bytes, over {self.limits.max_ratio:g}× its own "
                f"size (a sparse or bomb archive); set {ENV_MAX_BYTES} and extract it by hand if you trust it"
            )
        return UnsafeArchiveError(
            f"{self.archive.name} expands past {self.limits.max_total_bytes} bytes "
            f"(possible archive bomb); set {ENV_MAX_BYTES} higher if you trust it"
        )

    def member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise self.too_many()

    def add(self, n: int) -> None:
        self.bytes += n
        if self.bytes > self.cap:
            raise self.too_big()


def archive_format(path: Path) -> str:
    """Return ``"zip"`` or ``"tar"`` judged by content; DataError if neither."""
    if zipfile.is_zipfile(path):
        return "zip"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except OSError:
        pass
    raise DataError(
        f"{path} is neither a zip nor a tar archive (an error page saved by the server?); "
        "delete it and fetch again"
    )


def _unsafe(archive: Path, member: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"refusing to extract {shown(archive.name)}: member '{shown(member)}' {shown(why, 400)}; "
        "the archive is unsafe or corrupt — get it from a trusted source"
    )


def _clean_parts(archive: Path, name: str) -> list[str]:
    """Split a member name into safe relative parts, or raise for unsafe names."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        raise _unsafe(archive, name, "has an absolute path")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _unsafe(archive, name, "contains '..' (would escape the target folder)")
    if any("\x00" in p for p in parts):
        raise _unsafe(archive, name, "contains a NUL byte")
    return parts


def _write(src: IO[bytes], dest: Path, budget: _Budget) -> None:
    """Stream one member to ``dest``, charging every byte to ``budget``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as out:
        while chunk := src.read(CHUNK):
            budget.add(len(chunk))
            out.write(chunk)


def _extract_zip(archive: Path, root: Path, limits: Limits) -> None:
    budget = _Budget(archive, limits)
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:  # headers first: cheap early refusal
            raise budget.too_many()
        if sum(i.file_size for i in infos) > budget.cap:
            raise budget.too_big()
        planned: list[tuple[zipfile.ZipInfo, list[str]]] = []
        for info in infos:  # check everything before writing anything
            parts = _clean_parts(archive, info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _unsafe(archive, info.filename, "is a symbolic link (links are not allowed in zips)")
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                raise _unsafe(archive, info.filename, "is a device file, fifo or socket")
            planned.append((info, parts))
        for info, parts in planned:
            budget.member()
            target = root.joinpath(*parts)
            if info.is_dir() or not parts:
                target.mkdir(parents=True, exist_ok=True)
                continue
            with zf.open(info) as src:
                _write(src, target, budget)


def _link_target(archive: Path, member: tarfile.TarInfo, parts: list[str]) -> str:
    """Archive-relative path a tar link points to; raise if it leaves the archive."""
    link = member.linkname.replace("\\", "/")
    if link.startswith("/") or re.match(r"^[A-Za-z]:", link):
        raise _unsafe(archive, member.name, f"is a link to absolute path '{member.linkname}'")
    base = posixpath.dirname("/".join(parts)) if member.issym() else ""
    resolved = posixpath.normpath(posixpath.join(base, link))
    if resolved == ".." or resolved.startswith("../"):
        raise _unsafe(archive, member.name, f"is a link to '{member.linkname}' outside the target folder")
    return resolved


def _extract_tar(archive: Path, root: Path, limits: Limits) -> None:
    budget = _Budget(archive, limits)
    links: list[tuple[Path, str]] = []
    with tarfile.open(archive, "r|*") as tf:  # stream: one decompression pass
        for member in tf:
            budget.member()
            parts = _clean_parts(archive, member.name)
            target = root.joinpath(*parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.issym() or member.islnk():
                links.append((target, _link_target(archive, member, parts)))
            elif member.isreg():
                if not parts:
                    raise _unsafe(archive, member.name, "is a file with an empty name")
                if budget.bytes + member.size > budget.cap:  # a header declaring it: refused before writing
                    raise budget.too_big()
                src = tf.extractfile(member)
                assert src is not None
                _write(src, target, budget)
            else:
                raise _unsafe(archive, member.name, "is a device file, fifo or socket")
    for target, rel in links:  # links become copies of in-archive files, never links
        src = root.joinpath(*[p for p in rel.split("/") if p not in ("", ".")])
        if src.is_file() and not target.exists():
            with open(src, "rb") as fh:
                _write(fh, target, budget)


def safe_extract(archive: str | Path, dest: str | Path, limits: Limits | None = None) -> Path:
    """Extract ``archive`` into the new folder ``dest`` safely and atomically.

    ``dest`` must not exist. Raises :class:`UnsafeArchiveError` (a DataError) for
    unsafe members or broken caps, DataError for unreadable archives.
    """
    archive, dest = Path(archive), Path(dest)
    limits = limits or Limits.from_env()
    if dest.exists():
        raise DataError(f"{dest} already exists; remove it or choose another destination")
    fmt = archive_format(archive)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.extract-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()  # not mkdtemp: the result must get normal (umask) permissions
    try:
        try:
            (_extract_zip if fmt == "zip" else _extract_tar)(archive, tmp, limits)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, lzma.LZMAError) as err:
            raise DataError(
                f"{archive} is corrupt ({first_line(err)}); delete it and fetch again"
            ) from None
        except OSError as err:
            raise DataError(f"could not extract {archive.name} into {dest.parent}: {err}") from err
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
