"""Files: one atomic writer (honouring the umask), safe loading of torch files, first lines of errors.

`atomic_write` writes to a temp file in the target folder and renames it over the target, so
a crash or Ctrl-C never leaves a partial output; the result gets the mode a plain `open()`
would give it (0644 under umask 022), not mkstemp's private 0600. Temp files are named
`.NAME.XXXX.tmp`, so a folder's stale ones (a writer killed mid-way) are easy to find.
"""
from __future__ import annotations

import os
import tempfile
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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
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
        raise WeightsError(f"{what} not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # corrupt, truncated, pickled code, or not a torch file
        raise WeightsError(f"cannot read {path} as {what} (loading never runs code): {first_line(err)}") from None
