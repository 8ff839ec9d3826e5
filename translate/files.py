"""Files: one atomic writer (honouring the umask), safe loading of torch files, first lines of errors.

`atomic_write` writes to a temp file in the target folder and renames it over the target, so
a crash or Ctrl-C never leaves a partial output; the result gets the mode a plain `open()`
would give it (0644 under umask 022), not mkstemp's private 0600. Temp files are named
`.NAME.XXXXXXXX.tmp` (NAME cut to 64 bytes, so a 255-byte name still fits), so a folder's stale
ones (a writer killed mid-way) are easy to find. `OutputTree` writes below an output folder
without following links and never into, or over, what an input tree holds (by device and inode).
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from translate.errors import WeightsError

TMP_SUFFIX = ".tmp"


def first_line(err: BaseException | str) -> str:
    """The first non-empty line of an error's message (or its type name): for one-line reports."""
    text = str(err).strip()
    if not text:
        return type(err).__name__ if isinstance(err, BaseException) else ""
    return text.splitlines()[0].strip()


def _read_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it (once, at import, before any threads)
    os.umask(mask)
    return mask


UMASK = _read_umask()


def file_mode() -> int:
    """The permission bits a new regular file gets from open(): 0o666 minus the umask."""
    return 0o666 & ~UMASK


def atomic_write(path: str | Path, data: bytes | str | Callable[[IO[bytes]], Any], *, fsync: bool = False) -> Path:
    """Write `data` (bytes, text, or a function writing to a binary file) to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{_short(path.name)}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data.encode() if isinstance(data, str) else data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --- writing under an output folder without following links -------------------------------------
FileId = tuple[int, int]  # (st_dev, st_ino): the same file or folder under any path or mount
_TEMP = re.compile(r"^\..*\.[0-9a-z_]{8}\.tmp$")  # ours and mkstemp's random parts
_NAME_BYTES = 64  # of the target's name kept in its temp name: 255-byte names stay within NAME_MAX


def exists(path: str | Path) -> bool:
    """Path.exists() that answers False, not OSError, for a name too long or otherwise unusable."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def file_id(path: str | Path, follow: bool = True) -> FileId | None:
    """(st_dev, st_ino) of `path`, None if it is not there: equal ids are one file or folder,
    whatever the paths (symlinks, bind mounts, the same volume mounted twice)."""
    try:
        st = os.stat(path, follow_symlinks=follow)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def temp_name(name: str) -> str:
    """`.NAME.XXXXXXXX.tmp`, NAME cut to 64 bytes (whole characters), so any legal name fits."""
    return f".{_short(name)}.{secrets.token_hex(4)}{TMP_SUFFIX}"


def _short(name: str) -> str:
    return name.encode("utf-8", "surrogateescape")[:_NAME_BYTES].decode("utf-8", "surrogateescape")


class OutputTree:
    """Writes files below one output folder atomically, refusing to write into any folder or over
    any file whose (device, inode) is in `forbidden_dirs`/`forbidden_files` (an input tree).

    The folder is opened once; every folder below it is opened relative to its parent without
    following symlinks (created if missing), and the temp file is created and renamed relative to
    that open folder. A link swapped in mid-run therefore cannot redirect a write: the walk fails
    on it, and the parent's identity is checked again right before the rename."""

    def __init__(self, root: str | Path, forbidden_dirs: set[FileId] = frozenset(),  # type: ignore[assignment]
                 forbidden_files: set[FileId] = frozenset()) -> None:  # type: ignore[assignment]
        self.root = Path(root)
        self.forbidden_dirs, self.forbidden_files = set(forbidden_dirs), set(forbidden_files)
        self.root.mkdir(parents=True, exist_ok=True)  # the user's own path: links in it are theirs
        self.fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self._check_dir(self.fd, self.root)
        except BaseException:
            os.close(self.fd)
            raise

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> OutputTree:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _check_dir(self, fd: int, shown: Path) -> None:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) in self.forbidden_dirs:
            raise OSError(errno.EPERM, f"{shown} is a folder of the input tree (a swapped link or a mount?): refusing to write there")

    def _open_parent(self, rel: Path) -> int:
        """An fd of rel's folder, walked from the root without following links (created if missing)."""
        fd = os.dup(self.fd)
        try:
            for i, part in enumerate(rel.parts[:-1]):
                if part in ("", ".", ".."):
                    raise OSError(errno.EINVAL, f"bad output path component '{part}'")
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                os.close(fd)
                fd = nxt
                self._check_dir(fd, self.root.joinpath(*rel.parts[: i + 1]))
            return fd
        except BaseException:
            os.close(fd)
            raise

    def write(self, path: str | Path, data: bytes | str | Callable[[IO[bytes]], Any], *, fsync: bool = False) -> Path:
        """Write `data` to `path` (inside the root) atomically; an OSError says why it was refused."""
        path = Path(path)
        rel = path.relative_to(self.root) if path.is_absolute() == self.root.is_absolute() else path
        if not rel.parts:
            raise OSError(errno.EINVAL, f"{path} is the output folder itself")
        name = rel.parts[-1]
        parent = self._open_parent(rel)
        tmp = temp_name(name)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # held while writing: `clean_stale_temps` skips it
                    if callable(data):
                        data(fh)
                    else:
                        fh.write(data.encode() if isinstance(data, str) else data)
                    fh.flush()
                    if fsync:
                        os.fsync(fh.fileno())
                    self._check_dir(parent, path.parent)  # right before the rename: still not an input folder
                    try:
                        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
                    except FileNotFoundError:
                        st = None
                    if st is not None and stat.S_ISDIR(st.st_mode):
                        raise IsADirectoryError(errno.EISDIR, f"{path} exists as a directory")
                    if st is not None and (st.st_dev, st.st_ino) in self.forbidden_files:
                        raise OSError(errno.EPERM, f"{path} is an input file: refusing to replace it")
                    os.replace(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
            except BaseException:
                try:
                    os.unlink(tmp, dir_fd=parent)
                except OSError:
                    pass
                raise
        finally:
            os.close(parent)
        return path

    def append(self, name: str, data: bytes) -> None:
        """Append `data` to the file `name` directly in the root (created if missing, never through
        a link; one write, so lines of concurrent writers do not interleave)."""
        fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=self.fd)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def clean_stale_temps(folder: str | Path, min_age_s: float = 60.0) -> list[Path]:
    """Remove the temp files of writers that were killed (kill -9, power loss) from `folder`:
    `.NAME.XXXXXXXX.tmp` files older than `min_age_s` that no live writer holds locked. Links are
    never followed. Returns what was removed."""
    removed: list[Path] = []
    try:
        dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return removed
    try:
        now = time.time()
        for name in os.listdir(dfd):
            if not _TEMP.match(name):
                continue
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dfd)
            except OSError:
                continue
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < min_age_s:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live writer holds it
                os.unlink(name, dir_fd=dfd)
                removed.append(Path(folder) / name)
            except OSError:
                continue
            finally:
                os.close(fd)
    finally:
        os.close(dfd)
    return removed


def stale_temp_files(folder: str | Path) -> list[Path]:
    """Temp files `atomic_write` left in `folder` (a writer killed mid-way)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(TMP_SUFFIX) and p.is_file())


def load_torch(path: str | Path, what: str = "weights", map_location: Any = "cpu") -> Any:
    """`torch.load(weights_only=True)`: tensors and plain values only — loading never runs code.
    A missing, truncated, corrupt or code-carrying file is one WeightsError line."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{what} not found: {shown(path)}")
    _check_records(path, what)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # corrupt, truncated, pickled code, or not a torch file
        raise WeightsError(f"cannot read {shown(path)} as {what} (loading never runs code): {shown(first_line(err))}") from None
    if expanded_size(state, MAX_VALUES) > MAX_VALUES:
        raise WeightsError(f"cannot read {shown(path)} as {what}: its values expand to more than {MAX_VALUES:,} "
                           "(shared or self-referencing lists: a pickle bomb?)")
    return state


MAX_VALUES = 1_000_000  # values (tensors count one) in a torch file once shared references are expanded
RECORD_SLACK = 1 << 20


def _check_records(path: Path, what: str) -> None:
    """A torch zip file's records may not expand beyond the file itself: torch stores them
    uncompressed, so a deflated record declaring gigabytes is refused before it is inflated."""
    import zipfile

    try:
        if not zipfile.is_zipfile(path):
            return  # the legacy (pre-1.6) format: plain pickle, read as it is
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (OSError, zipfile.BadZipFile, ValueError):
        return  # torch.load gives the one-line reason
    declared, size = sum(i.file_size for i in infos), path.stat().st_size
    if declared > size + RECORD_SLACK or any(i.compress_type != zipfile.ZIP_STORED and i.file_size > 64 * i.compress_size + RECORD_SLACK
                                             for i in infos):
        raise WeightsError(f"cannot read {shown(path)} as {what}: its records declare {declared:,} bytes in a "
                           f"{size:,}-byte file (a compressed record: a zip bomb?)")


def expanded_size(obj: Any, cap: int) -> int:
    """How many values `obj` holds with shared references expanded (as printing or walking it
    would see them), counted up to `cap` + 1 in time linear in its distinct objects."""
    sizes: dict[int, int] = {}

    def size(o: Any) -> int:
        if isinstance(o, (dict, list, tuple, set, frozenset)):
            if id(o) in sizes:
                return sizes[id(o)]
            sizes[id(o)] = cap + 1  # met again inside itself: a cycle
            items = [*o.keys(), *o.values()] if isinstance(o, dict) else list(o)
            total = 1
            for item in items:
                total += size(item)
                if total > cap:
                    break
            sizes[id(o)] = min(total, cap + 1)
            return sizes[id(o)]
        return 1

    try:
        return size(obj)
    except RecursionError:
        return cap + 1


_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(value: Any, limit: int = 240) -> str:
    """`value` as text safe to print in one line: control characters (ESC, newlines, carriage
    returns, bidi overrides) escaped as \\xNN / \\uNNNN, and over `limit` characters shortened in
    the middle. For every untrusted string in a message: file and member names, plugin hints."""
    text = _UNSAFE_CHARS.sub(lambda m: ascii(m.group())[1:-1], str(value))
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates of odd file names
    if len(text) > limit:
        half = (limit - 1) // 2
        text = f"{text[:half]}…{text[-half:]}"
    return text
