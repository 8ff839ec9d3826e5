"""Safe extraction: zip-slip, absolute paths, links, special files, bomb caps, atomicity."""
from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from translate.data.catalog.extract import Limits, UnsafeArchiveError, safe_extract
from translate.errors import DataError


def write_zip(path: Path, files: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            # ZipInfo keeps the name verbatim (ZipFile.write would strip a leading "/")
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def write_tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tf.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                tf.addfile(info, io.BytesIO(m[1]))
    return path


def link(name: str, target: str, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


def assert_nothing_made(work: Path) -> None:
    """Only the archive itself may remain in the work folder."""
    assert sorted(p.name for p in work.iterdir()) == ["archive"]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work" / "archive").mkdir(parents=True)
    return tmp_path / "work"


def test_zip_and_tar_extract_files(work: Path) -> None:
    z = write_zip(work / "archive" / "a.zip", {"top/x/1.png": b"one", "top/2.png": b"two"})
    out = safe_extract(z, work / "z")
    assert (out / "top" / "x" / "1.png").read_bytes() == b"one"
    t = write_tar(work / "archive" / "a.tar.gz", [("top/x/1.png", b"one"), ("./top/2.png", b"two")])
    out = safe_extract(t, work / "t")
    assert (out / "top" / "2.png").read_bytes() == b"two"
    assert sorted(p.name for p in work.iterdir()) == ["archive", "t", "z"]


@pytest.mark.parametrize("name", ["../evil.txt", "ok/../../evil.txt", "..\\evil.txt"])
def test_zip_slip_is_refused(work: Path, name: str) -> None:
    z = write_zip(work / "archive" / "slip.zip", {"fine.txt": b"ok", name: b"pwned"})
    with pytest.raises(UnsafeArchiveError, match=r"'\.\.'"):
        safe_extract(z, work / "out")
    assert not (work / "evil.txt").exists() and not (work.parent / "evil.txt").exists()
    assert_nothing_made(work)


def test_absolute_paths_are_refused(work: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    z = write_zip(work / "archive" / "abs.zip", {str(victim): b"pwned"})
    with pytest.raises(UnsafeArchiveError, match="absolute path"):
        safe_extract(z, work / "out")
    t = write_tar(work / "archive" / "abs.tar.gz", [(str(victim), b"pwned")])
    with pytest.raises(UnsafeArchiveError, match="absolute path"):
        safe_extract(t, work / "out")
    w = write_zip(work / "archive" / "drive.zip", {"C:/Windows/evil.dll": b"x"})
    with pytest.raises(UnsafeArchiveError, match="absolute path"):
        safe_extract(w, work / "out")
    assert not victim.exists()
    assert_nothing_made(work)


def test_tar_symlink_escape_is_refused(work: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    for target in ("../../secret.txt", str(tmp_path / "secret.txt"), "a/../../.."):
        t = write_tar(work / "archive" / "sym.tar.gz", [("d/f.png", b"x"), link("d/escape", target)])
        with pytest.raises(UnsafeArchiveError, match="link"):
            safe_extract(t, work / "out")
    t = write_tar(work / "archive" / "hard.tar.gz", [link("hard", "../secret.txt", hard=True)])
    with pytest.raises(UnsafeArchiveError, match="outside"):
        safe_extract(t, work / "out")
    assert_nothing_made(work)


def test_tar_links_inside_become_plain_copies(work: Path) -> None:
    t = write_tar(
        work / "archive" / "in.tar.gz",
        [link("a/alias.png", "../b/real.png"), ("b/real.png", b"pixels"), link("a/hard.png", "b/real.png", hard=True)],
    )
    out = safe_extract(t, work / "out")
    for name in ("a/alias.png", "a/hard.png"):
        assert not (out / name).is_symlink() and (out / name).read_bytes() == b"pixels"


def test_zip_symlinks_are_refused(work: Path) -> None:
    z = write_zip(work / "archive" / "l.zip", {"a.png": b"x"}, links={"link": "a.png"})
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        safe_extract(z, work / "out")
    assert_nothing_made(work)


@pytest.mark.parametrize("kind", [tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE])
def test_tar_special_files_are_refused(work: Path, kind: bytes) -> None:
    info = tarfile.TarInfo("dev")
    info.type = kind
    t = write_tar(work / "archive" / "dev.tar.gz", [("a.png", b"x"), info])
    with pytest.raises(UnsafeArchiveError, match="device file, fifo"):
        safe_extract(t, work / "out")
    assert_nothing_made(work)


def test_size_cap_stops_bombs(work: Path) -> None:
    big = bytes(200_000)  # compresses to almost nothing
    z = write_zip(work / "archive" / "bomb.zip", {"a.bin": big})
    assert z.stat().st_size < 2_000
    with pytest.raises(UnsafeArchiveError, match="archive bomb"):
        safe_extract(z, work / "out", Limits(max_total_bytes=100_000))
    t = write_tar(work / "archive" / "bomb.tar.gz", [("a.bin", big), ("b.bin", big)])
    with pytest.raises(UnsafeArchiveError, match="archive bomb"):
        safe_extract(t, work / "out", Limits(max_total_bytes=300_000))
    assert_nothing_made(work)


def test_zip_lying_about_its_sizes_is_refused(work: Path) -> None:
    z = write_zip(work / "archive" / "liar.zip", {"a.bin": bytes(50_000)})
    raw = bytearray(z.read_bytes())
    central = raw.rfind(b"PK\x01\x02")  # understate the size in the central directory
    raw[central + 24 : central + 28] = (10).to_bytes(4, "little")
    z.write_bytes(bytes(raw))
    with pytest.raises(DataError):  # refused: either by the cap or as corrupt
        safe_extract(z, work / "out", Limits(max_total_bytes=1_000))
    assert_nothing_made(work)


def test_member_count_cap(work: Path) -> None:
    files = {f"f{i}.png": b"x" for i in range(10)}
    z = write_zip(work / "archive" / "many.zip", files)
    with pytest.raises(UnsafeArchiveError, match="more than 5 members"):
        safe_extract(z, work / "out", Limits(max_members=5))
    t = write_tar(work / "archive" / "many.tar.gz", list(files.items()))
    with pytest.raises(UnsafeArchiveError, match="more than 5 members"):
        safe_extract(t, work / "out", Limits(max_members=5))
    assert safe_extract(t, work / "ok", Limits(max_members=10)).is_dir()


def test_limits_from_environment(monkeypatch: pytest.MonkeyPatch, work: Path) -> None:
    monkeypatch.setenv("TRANSLATE_EXTRACT_MAX_MEMBERS", "2")
    z = write_zip(work / "archive" / "three.zip", {"a": b"", "b": b"", "c": b""})
    with pytest.raises(UnsafeArchiveError, match="TRANSLATE_EXTRACT_MAX_MEMBERS"):
        safe_extract(z, work / "out")


def test_not_an_archive_and_existing_destination(work: Path) -> None:
    html = work / "archive" / "page.zip"
    html.write_text("<html>502 Bad Gateway</html>")
    with pytest.raises(DataError, match="neither a zip nor a tar"):
        safe_extract(html, work / "out")
    z = write_zip(work / "archive" / "a.zip", {"a": b""})
    (work / "out").mkdir()
    with pytest.raises(DataError, match="already exists"):
        safe_extract(z, work / "out")
