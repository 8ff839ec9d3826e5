"""Fetching catalog datasets from a loopback HTTP server: layout, resume, checksums, lock."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import zipfile
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from translate.data.catalog import Dataset, load_catalog, resolve_data
from translate.data.catalog.fetch import LOCK_NAME, fetch_dataset, read_lock
from translate.errors import DataError

from loopback import send_ranged

# ---------------------------------------------------------------- loopback server


@dataclass
class ServerState:
    """What the test server serves and how it misbehaves."""

    files: dict[str, bytes] = field(default_factory=dict)
    drop_once: dict[str, int] = field(default_factory=dict)  # path -> bytes sent, then hang up
    honour_range: bool = True
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        state = self.server.state
        rng = self.headers.get("Range")
        state.requests.append((self.path, rng))
        body = state.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        send_ranged(self, body, rng if state.honour_range else None, state.drop_once.pop(self.path, None))

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ServerState


@pytest.fixture
def server() -> Iterator[tuple[str, ServerState]]:
    """A threaded HTTP server on 127.0.0.1 (random port) supporting Range requests."""
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.state = ServerState()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", srv.state
    finally:
        srv.shutdown()
        srv.server_close()


# ------------------------------------------------------------------------ helpers


def make_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def make_tar_gz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


H2Z_COUNTS = {"trainA": 3, "trainB": 2, "testA": 1, "testB": 1}


def h2z_archive(tag: bytes = b"") -> bytes:
    files = {
        f"horse2zebra/{split}/{i}.jpg": b"img-%s-%d" % (split.encode(), i) + tag + bytes(4000)
        for split, n in H2Z_COUNTS.items()
        for i in range(n)
    }
    files["horse2zebra/README.txt"] = b"not an image"
    return make_zip(files)


def h2z_entry(url: str, **changes: object) -> Dataset:
    base = replace(load_catalog()["horse2zebra"], urls=(url,), counts=dict(H2Z_COUNTS))
    return replace(base, **changes)  # type: ignore[arg-type]


def fetch(entry: Dataset, root: Path, **kw: object) -> object:
    kw.setdefault("backoff", 0.0)
    kw.setdefault("timeout", 5.0)
    return fetch_dataset(entry.name, data_dir=root, entry=entry, **kw)  # type: ignore[arg-type]


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".") and p.name != ".downloads")


# -------------------------------------------------------------------------- tests


def test_fetch_extracts_into_layout_verifies_and_records(server, tmp_path: Path) -> None:
    base, state = server
    data = h2z_archive()
    state.files["/horse2zebra.zip"] = data
    result = fetch(h2z_entry(base + "/horse2zebra.zip"), tmp_path)

    folder = tmp_path / "horse2zebra"
    assert result.folder == folder and not result.already
    assert sorted(p.name for p in folder.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    assert sorted(p.name for p in (folder / "trainA").iterdir()) == ["0.jpg", "1.jpg", "2.jpg"]
    assert result.report.ok
    assert [(c.split, c.found) for c in result.report.checks] == list(H2Z_COUNTS.items())
    # no catalog checksum: the first verified download is recorded in the lock file
    lock = read_lock(tmp_path)[base + "/horse2zebra.zip"]
    assert lock["sha256"] == hashlib.sha256(data).hexdigest() == result.sha256
    assert lock["size"] == len(data) and result.recorded
    assert not (tmp_path / ".downloads" / "horse2zebra").exists()  # archive removed
    assert leftovers(tmp_path) == []
    assert resolve_data("horse2zebra", tmp_path) == folder

    again = fetch(h2z_entry(base + "/horse2zebra.zip"), tmp_path)
    assert again.already and len(state.requests) == 1  # nothing downloaded twice


def test_fetch_paired_tarball_keeps_train_and_val(server, tmp_path: Path) -> None:
    base, state = server
    files = {f"edges2shoes/train/{i}_AB.jpg": b"ab%d" % i for i in range(4)}
    files |= {f"edges2shoes/val/{i}_AB.jpg": b"v%d" % i for i in range(2)}
    state.files["/pix2pix/edges2shoes.tar.gz"] = make_tar_gz(files)
    entry = replace(load_catalog()["edges2shoes"], urls=(base + "/pix2pix/edges2shoes.tar.gz",),
                    counts={"train": 4, "val": 2}, counts_verified=True)
    result = fetch(entry, tmp_path)
    assert sorted(p.name for p in result.folder.iterdir()) == ["train", "val"]
    assert len(list((result.folder / "train").iterdir())) == 4 and result.report.ok


def test_fetch_sr_with_url_override_finds_hr_images(server, tmp_path: Path) -> None:
    base, state = server
    files = {}
    for scale in (2, 4):  # the common SR benchmark pack: LR and HR per scale folder
        for i in range(1, 6):
            files[f"Set5/image_SRF_{scale}/img_00{i}_SRF_{scale}_HR.png"] = b"hr%d" % i
            files[f"Set5/image_SRF_{scale}/img_00{i}_SRF_{scale}_LR.png"] = b"lr%d" % i
    state.files["/mirror/Set5.zip"] = make_zip(files)
    with pytest.raises(DataError, match="--url"):
        fetch_dataset("set5", data_dir=tmp_path)
    result = fetch_dataset("set5", data_dir=tmp_path, url=base + "/mirror/Set5.zip", backoff=0.0)
    hr = sorted(p.name for p in (result.folder / "hr").iterdir())
    assert hr == [f"img_00{i}_SRF_2_HR.png" for i in range(1, 6)]
    assert result.report.ok


def test_interrupted_download_resumes_with_range_in_same_call(server, tmp_path: Path) -> None:
    base, state = server
    data = h2z_archive()
    state.files["/horse2zebra.zip"] = data
    state.drop_once["/horse2zebra.zip"] = len(data) // 2
    result = fetch(h2z_entry(base + "/horse2zebra.zip"), tmp_path)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert state.requests == [("/horse2zebra.zip", None), ("/horse2zebra.zip", f"bytes={len(data) // 2}-")]


def test_interrupted_download_resumes_on_next_run(server, tmp_path: Path) -> None:
    base, state = server
    data = h2z_archive()
    entry = h2z_entry(base + "/horse2zebra.zip")
    state.files["/horse2zebra.zip"] = data
    state.drop_once["/horse2zebra.zip"] = 1000
    with pytest.raises(DataError, match="run the same command again to resume"):
        fetch(entry, tmp_path, retries=0)
    part = tmp_path / ".downloads" / "horse2zebra" / "horse2zebra.zip.part"
    assert part.stat().st_size == 1000 and not (tmp_path / "horse2zebra").exists()
    fetch(entry, tmp_path, retries=0)
    assert state.requests[-1] == ("/horse2zebra.zip", "bytes=1000-")
    assert len(list((tmp_path / "horse2zebra" / "trainA").iterdir())) == 3


def test_server_ignoring_range_restarts_download(server, tmp_path: Path) -> None:
    base, state = server
    data = h2z_archive()
    state.files["/horse2zebra.zip"] = data
    state.honour_range = False
    part = tmp_path / ".downloads" / "horse2zebra" / "horse2zebra.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale bytes from some other file")
    entry = h2z_entry(base + "/horse2zebra.zip", sha256=hashlib.sha256(data).hexdigest())
    result = fetch(entry, tmp_path)  # would fail the checksum had it appended
    assert state.requests[0][1] is not None and result.report.ok


def test_complete_partial_file_is_accepted_on_416(server, tmp_path: Path) -> None:
    base, state = server
    data = h2z_archive()
    state.files["/horse2zebra.zip"] = data
    part = tmp_path / ".downloads" / "horse2zebra" / "horse2zebra.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data)
    assert fetch(h2z_entry(base + "/horse2zebra.zip"), tmp_path).report.ok


def test_checksum_mismatch_keeps_bad_file_aside_and_touches_nothing(server, tmp_path: Path) -> None:
    base, state = server
    state.files["/horse2zebra.zip"] = h2z_archive()
    mine = tmp_path / "my-notes" / "keep.txt"
    mine.parent.mkdir()
    mine.write_text("precious")
    (tmp_path / "apple2orange" / "trainA").mkdir(parents=True)
    (tmp_path / "apple2orange" / "trainA" / "a.jpg").write_bytes(b"x")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))

    entry = h2z_entry(base + "/horse2zebra.zip", sha256="0" * 64)
    with pytest.raises(DataError) as err:
        fetch(entry, tmp_path)
    msg = str(err.value)
    assert "SHA-256" in msg and "0" * 64 in msg and ".bad" in msg and "--force" in msg
    assert "\n" not in msg
    bad = tmp_path / ".downloads" / "horse2zebra" / "horse2zebra.zip.bad"
    assert bad.read_bytes() == state.files["/horse2zebra.zip"]
    after = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if ".downloads" not in p.parts)
    assert after == [p for p in before]
    assert mine.read_text() == "precious" and not (tmp_path / "horse2zebra").exists()
    assert leftovers(tmp_path) == [] and not (tmp_path / LOCK_NAME).exists()


def test_lock_file_catches_a_changed_server_file(server, tmp_path: Path) -> None:
    base, state = server
    url = base + "/horse2zebra.zip"
    data = h2z_archive()
    state.files["/horse2zebra.zip"] = data
    fetch(h2z_entry(url), tmp_path)
    recorded = json.loads((tmp_path / LOCK_NAME).read_text())["archives"][url]["sha256"]

    state.files["/horse2zebra.zip"] = data[:-1] + bytes([data[-1] ^ 1])  # same size, other bytes
    with pytest.raises(DataError, match="lock file") as err:
        fetch(h2z_entry(url), tmp_path, force=True)
    assert recorded in str(err.value) and "SHA-256" in str(err.value)
    # the earlier, good copy is still in place and still verifies
    assert len(list((tmp_path / "horse2zebra" / "trainA").iterdir())) == 3


def test_force_replaces_existing_copy(server, tmp_path: Path) -> None:
    base, state = server
    sha = hashlib.sha256(h2z_archive()).hexdigest()
    state.files["/horse2zebra.zip"] = h2z_archive()
    (tmp_path / "horse2zebra" / "old").mkdir(parents=True)
    entry = h2z_entry(base + "/horse2zebra.zip", sha256=sha)
    assert fetch(entry, tmp_path).already
    result = fetch(entry, tmp_path, force=True)
    assert not result.recorded and not (tmp_path / LOCK_NAME).exists()  # catalog had the sha
    assert sorted(p.name for p in result.folder.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    assert leftovers(tmp_path) == []


def test_http_404_is_a_clear_error(server, tmp_path: Path) -> None:
    base, _ = server
    with pytest.raises(DataError, match="HTTP 404"):
        fetch(h2z_entry(base + "/missing.zip"), tmp_path)


def test_archive_without_expected_folders_is_rejected(server, tmp_path: Path) -> None:
    base, state = server
    state.files["/horse2zebra.zip"] = make_zip({"something/else.jpg": b"x"})
    with pytest.raises(DataError, match="no folder 'horse2zebra/trainA'"):
        fetch(h2z_entry(base + "/horse2zebra.zip"), tmp_path)
    assert not (tmp_path / "horse2zebra").exists() and leftovers(tmp_path) == []


def test_manual_dataset_is_never_fetched(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="redistribution"):
        fetch_dataset("cityscapes", data_dir=tmp_path, url="http://127.0.0.1:9/x.zip")


def _corrupt_member(archive: bytes, member: str) -> bytes:
    """The zip with `member`'s compressed bytes flipped: a CRC / deflate error on extraction."""
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        info = zf.getinfo(member)
    data = bytearray(archive)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 2, start + 40):
        data[i] ^= 0x5A
    return bytes(data)


def test_a_corrupt_member_is_one_line_and_leaves_nothing(server, tmp_path: Path, cli) -> None:
    base, state = server
    good = h2z_archive()
    state.files["/bad.zip"] = _corrupt_member(good, "horse2zebra/trainA/0.jpg")
    with pytest.raises(DataError, match="corrupt") as err:
        fetch(h2z_entry(base + "/bad.zip"), tmp_path / "d")
    assert "\n" not in str(err.value)
    root = tmp_path / "d"
    assert not (root / "horse2zebra").exists()  # no partial extraction
    assert not [p for p in root.iterdir() if p.name.startswith(".horse2zebra")]
    bad = tmp_path / "local-bad.zip"
    bad.write_bytes(_corrupt_member(good, "horse2zebra/trainB/1.jpg"))
    code, out = cli("datasets", "fetch", "horse2zebra", "--dir", str(tmp_path / "e"), "--url", str(bad))
    assert code == 1 and out.count("error:") == 1 and "Traceback" not in out and "corrupt" in out
