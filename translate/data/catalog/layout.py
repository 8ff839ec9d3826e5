"""Map an unpacked catalog archive onto our folder layout, and check its image counts.

Our layouts: unpaired ``trainA/ trainB/ testA/ testB/``; paired ``train/ val/`` of
side-by-side AB images; SR ``hr/``. A catalog entry's ``layout`` says which archive
folder becomes which of ours; an SR entry without one (Set5, Set14, BSD100 fetched
from a user-given URL) has its HR images found by :func:`_auto_hr`.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from translate.data.catalog import Dataset
from translate.errors import DataError

IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".ppm"})
HR_FOLDER_NAMES = ("hr", "original", "gtmod12", "gt", "ground_truth")


def count_images(folder: Path) -> int:
    """Number of image files directly inside ``folder`` (0 if it does not exist)."""
    if not folder.is_dir():
        return 0
    with os.scandir(folder) as it:
        return sum(
            1 for e in it if e.is_file() and os.path.splitext(e.name)[1].lower() in IMAGE_EXTS
        )


def _dirs(root: Path, depth: int = 4) -> list[Path]:
    """All folders under ``root`` (itself included) down to ``depth`` levels, sorted."""
    found = [root]
    frontier = [root]
    for _ in range(depth):
        nxt = sorted(p for d in frontier for p in d.iterdir() if p.is_dir())
        found += nxt
        frontier = nxt
    return found


def _find(root: Path, rel: str) -> Path | None:
    """The archive folder ``rel``, or failing that the only folder with its base name."""
    if rel in ("", "."):
        return root
    exact = root.joinpath(*PurePosixPath(rel).parts)
    if exact.is_dir():
        return exact
    hits = [d for d in _dirs(root) if d.name == PurePosixPath(rel).name]
    return hits[0] if len(hits) == 1 else None


def _auto_hr(root: Path, entry: Dataset) -> list[Path]:
    """Pick the HR images of an SR benchmark archive whose layout is unknown.

    Tries, in order: a folder named like hr/original/GTmod12; files named ``*HR*``
    in the first folder holding any (e.g. ``image_SRF_2/img_001_SRF_2_HR.png``);
    the only folder that holds images at all.
    """
    with_images = [d for d in _dirs(root) if count_images(d)]
    for wanted in HR_FOLDER_NAMES:
        named = [d for d in with_images if d.name.lower() == wanted]
        if len(named) == 1:
            return _images(named[0])
    for d in with_images:
        hr = [p for p in _images(d) if "hr" in p.stem.lower().replace("-", "_").split("_")]
        if hr:
            return hr
    if len(with_images) == 1:
        return _images(with_images[0])
    raise DataError(
        f"cannot tell which images of '{entry.name}' are the high-resolution ones; "
        f"unpack the archive yourself and put them in <data_dir>/{entry.name}/hr/"
    )


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def effective_layout(entry: Dataset) -> dict[str, str]:
    """The entry's layout, or ``{split: split}`` for each counted split when it has none."""
    if entry.layout:
        return dict(entry.layout)
    return {split: split for split in entry.counts}


def _fill(staging: Path, unpacked: Path, entry: Dataset) -> None:
    """Move the archive's folders (or auto-found HR files) into ``staging``."""
    if entry.kind == "sr" and not entry.layout:
        hr = staging / "hr"
        hr.mkdir()
        for img in _auto_hr(unpacked, entry):
            os.replace(img, hr / img.name)
        return
    for ours, theirs in effective_layout(entry).items():
        src = _find(unpacked, theirs)
        if src is None:
            raise DataError(
                f"the archive for '{entry.name}' has no folder '{theirs}' (for our '{ours}/'); "
                "the download may be the wrong file — check the URL, then retry with --force"
            )
        os.replace(src, staging / ours)


def normalise(unpacked: Path, entry: Dataset, dest: Path, replace: bool = False) -> Path:
    """Build ``dest`` in our layout from the unpacked archive folder, atomically.

    Folders are moved (not copied) out of ``unpacked``. The result is assembled in a
    temporary folder beside ``dest`` and renamed into place; with ``replace`` an
    existing ``dest`` is swapped out and removed only after the new one is in place.
    """
    if dest.is_dir() and not any(dest.iterdir()):
        dest.rmdir()  # an empty placeholder folder counts as absent
    if dest.exists() and not replace:
        raise DataError(f"{dest} already exists; use --force to replace it")
    staging = dest.parent / f".{dest.name}.staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()  # not mkdtemp: the result must get normal (umask) permissions
    old: Path | None = None
    try:
        _fill(staging, unpacked, entry)
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.replace(dest, old / dest.name)
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None and not dest.exists():
            os.replace(old / dest.name, dest)  # put the previous copy back
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return dest


@dataclass(frozen=True)
class SplitCheck:
    """Expected vs found image count for one split folder."""

    split: str
    expected: int
    found: int

    @property
    def status(self) -> str:
        """``ok``, ``missing`` (no folder / no images) or ``differs``."""
        if self.found == self.expected:
            return "ok"
        return "missing" if self.found == 0 else "differs"


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify`: per-split checks for one fetched dataset."""

    name: str
    folder: Path
    checks: tuple[SplitCheck, ...]
    counts_verified: bool

    @property
    def ok(self) -> bool:
        """True when every split matches; approximate catalog counts only need images."""
        if self.counts_verified:
            return all(c.status == "ok" for c in self.checks)
        return all(c.status != "missing" for c in self.checks)


def verify(entry: Dataset, folder: Path) -> VerifyReport:
    """Count the images in each of ``entry``'s splits under ``folder``."""
    if not folder.is_dir():
        raise DataError(
            f"dataset '{entry.name}' is not downloaded yet: run `translate datasets fetch {entry.name}`"
        )
    checks = tuple(SplitCheck(s, n, count_images(folder / s)) for s, n in entry.counts.items())
    return VerifyReport(entry.name, folder, checks, entry.counts_verified)
