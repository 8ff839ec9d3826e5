"""Pretrained models by name: the catalog, fetch through a loopback mirror (Range resume, lock,
changed file refused), the cache without a server, names wherever a model is taken."""
from __future__ import annotations

import errno
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from loopback import pixels, serve, write_photos
from PIL import Image

from translate.errors import ConfigError, DataError, PluginError, WeightsError
from translate.hub import catalog as C
from translate.hub import download as D
from translate.nets import build_net

H2Z_PATH = "/cyclegan/pretrained_models/horse2zebra.pth"


def official_bytes(seed: int = 0) -> bytes:
    """A small generator in the official junyanz layout (ResNet generator state dict)."""
    torch.manual_seed(seed)
    buf = io.BytesIO()
    sd = build_net("resnet", ngf=4, n_blocks=2).state_dict()
    torch.save(sd, buf)
    return buf.getvalue()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def mirror(home: Path, monkeypatch: pytest.MonkeyPatch):
    with serve() as (url, state, srv):
        monkeypatch.setenv("TRANSLATE_MIRROR", url + "/")
        state.files[H2Z_PATH] = official_bytes()
        yield state


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return write_photos(tmp_path / "photos", ((30, 41), (24, 24)), seed=0)



def test_catalog_lists_the_23_official_models_exactly(cli) -> None:
    cat = C.load_catalog()
    assert len(cat) == 23
    cyclegan = [n for n, e in cat.items() if e.variant == "cyclegan"]
    assert cyclegan == ["apple2orange", "orange2apple", "summer2winter_yosemite", "winter2summer_yosemite", "horse2zebra",
                        "zebra2horse", "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe", "style_vangogh",
                        "sat2map", "map2sat", "cityscapes_photo2label", "cityscapes_label2photo", "facades_photo2label",
                        "facades_label2photo", "iphone2dslr_flower"]
    for n in cyclegan:
        e = cat[n]
        assert e.url == f"http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{n}.pth"
        assert (e.generator, e.norm) == ("resnet_9blocks", "instance") and e.does and e.data and e.citation
    pix = {n: e for n, e in cat.items() if e.variant == "pix2pix"}
    assert sorted(e.url.rsplit("/", 1)[1] for e in pix.values()) == sorted(
        f"{n}.pth" for n in ("edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night"))
    assert all(e.url.startswith("http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/") for e in pix.values())
    assert all((e.generator, e.norm) == ("unet_256", "batch") for e in pix.values())
    assert all(e.sha256 == "" and e.size == 0 for e in cat.values())  # never invented
    code, out = cli("models", "list")
    assert code == 0 and "23 models" in out and all(n in out for n in cat)
    code, out = cli("models", "show", "horse2zebar")
    assert code == 2 and "did you mean 'horse2zebra'" in out


def test_convert_by_name_from_an_empty_cache_equals_the_file(mirror, home, photos, tmp_path, cli) -> None:
    direct = tmp_path / "horse2zebra.pth"
    direct.write_bytes(mirror.files[H2Z_PATH])
    code, out = cli("convert", "horse2zebra", str(photos), str(tmp_path / "by_name"), "--no-progress")
    assert code == 0, out
    assert [(m, p) for m, p, _ in mirror.requests] == [("GET", H2Z_PATH)]  # the mirror, the original path
    code, _ = cli("convert", str(direct), str(photos), str(tmp_path / "by_file"), "--no-progress")
    assert code == 0
    assert pixels(tmp_path / "by_name") == pixels(tmp_path / "by_file")
    cached = C.cache_path("horse2zebra")
    assert cached.read_bytes() == direct.read_bytes()
    lock = json.loads(C.lock_path().read_text())["models"]
    entry = lock["http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/horse2zebra.pth"]  # keyed by origin
    assert entry["sha256"] == hashlib.sha256(direct.read_bytes()).hexdigest() and entry["size"] == direct.stat().st_size
    assert sorted(p.name for p in cached.parent.iterdir()) == ["horse2zebra.pth", C.LOCK_NAME]
    code, out = cli("models", "verify")
    assert code == 0 and "horse2zebra: ok" in out


def test_cut_connection_is_one_line_and_the_next_call_resumes(mirror, home) -> None:
    mirror.drop_once[H2Z_PATH] = 5000
    with pytest.raises(DataError, match="run the same command again to resume") as err:
        C.fetch("horse2zebra", retries=0, backoff=0, show_progress=False)
    assert "\n" not in str(err.value) and not C.cache_path("horse2zebra").exists()
    got = C.fetch("horse2zebra", retries=0, backoff=0, show_progress=False)
    assert got.path.read_bytes() == mirror.files[H2Z_PATH]
    assert [r for _, _, r in mirror.requests] == [None, "bytes=5000-"]


def test_a_changed_file_is_refused_deleted_and_nothing_written(mirror, home, photos, tmp_path, cli) -> None:
    C.fetch("horse2zebra", show_progress=False)
    recorded = json.loads(C.lock_path().read_text())
    C.cache_path("horse2zebra").unlink()
    mirror.files[H2Z_PATH] = official_bytes(seed=1)  # same size, other bytes
    code, out = cli("convert", "horse2zebra", str(photos), str(tmp_path / "out"), "--no-progress")
    assert code == 1 and "SHA-256" in out and "expects" in out and "the file was deleted" in out
    assert hashlib.sha256(mirror.files[H2Z_PATH]).hexdigest() in out
    assert recorded["models"][C.load_catalog()["horse2zebra"].url]["sha256"] in out
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in C.models_dir().iterdir()) == [C.LOCK_NAME]
    assert json.loads(C.lock_path().read_text()) == recorded
    code, out = cli("models", "fetch", "horse2zebra")
    assert code == 1


def test_the_cache_is_used_with_no_server(home, photos, tmp_path, cli, monkeypatch) -> None:
    with serve() as (url, state, _):
        monkeypatch.setenv("TRANSLATE_MIRROR", url)
        state.files[H2Z_PATH] = official_bytes()
        C.fetch("horse2zebra", show_progress=False)
    code, out = cli("convert", "horse2zebra", str(photos), str(tmp_path / "out"), "--no-progress")
    assert code == 0 and "converted 2" in out


def test_an_existing_path_wins_and_unknown_names_get_did_you_mean(mirror, home, photos, tmp_path, cli,
                                                                  monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("horse2zebra").write_bytes(official_bytes(seed=3))  # a file that happens to carry the name
    code, out = cli("convert", "horse2zebra", str(photos), "out", "--no-progress")
    assert code == 0 and mirror.requests == []
    code, out = cli("convert", "zebra2hors", str(photos), "out2", "--no-progress")
    assert code == 2 and "did you mean 'zebra2horse'" in out and "\n" not in out.strip()
    with pytest.raises(ConfigError, match="did you mean 'horse2zebra'"):
        import translate

        translate.load("horse2zebr")


def test_pix2pix_entries_load_by_name_through_their_variant(mirror, home, tmp_path) -> None:
    """An official pix2pix generator (unet_256 layout, batch norm) fetched by its catalog name is
    the same model as the file opened directly, in both test modes."""
    import translate
    from test_pix2pix import RefUnet

    torch.manual_seed(0)
    path = tmp_path / "latest_net_G.pth"
    torch.save(RefUnet(num_downs=8, ngf=4).state_dict(), path)
    mirror.files["/pix2pix/models-pytorch/facades_label2photo.pth"] = path.read_bytes()
    photo = np.random.default_rng(1).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    for mode in ("eval", "paper"):
        by_name = translate.load("facades_label2photo_pix2pix", test_mode=mode)(photo)
        assert np.array_equal(by_name, translate.load(path, test_mode=mode)(photo))
    assert [p for _, p, _ in mirror.requests] == ["/pix2pix/models-pytorch/facades_label2photo.pth"]  # once


def test_verify_finds_a_changed_cache_file(mirror, home, cli) -> None:
    C.fetch("horse2zebra", show_progress=False)
    C.cache_path("horse2zebra").write_bytes(b"x" * 10)
    code, out = cli("models", "verify", "horse2zebra", "zebra2horse")
    assert code == 1 and "horse2zebra: mismatch" in out and "zebra2horse: not fetched" in out


def test_mirror_serves_datasets_too(home, tmp_path, monkeypatch) -> None:
    from dataclasses import replace

    from test_datasets_fetch import H2Z_COUNTS, h2z_archive

    from translate.data.catalog import load_catalog
    from translate.data.catalog.fetch import fetch_dataset, read_lock

    origin = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip"
    entry = replace(load_catalog()["horse2zebra"], urls=(origin,), counts=dict(H2Z_COUNTS))
    with serve() as (url, state, _):
        monkeypatch.setenv("TRANSLATE_MIRROR", url)
        state.files["/cyclegan/datasets/horse2zebra.zip"] = h2z_archive()
        result = fetch_dataset("horse2zebra", data_dir=tmp_path / "data", entry=entry, backoff=0)
    assert result.report.ok and [p for _, p, _ in state.requests] == ["/cyclegan/datasets/horse2zebra.zip"]
    assert origin in read_lock(tmp_path / "data")


def test_a_full_disk_is_one_line_and_no_partial_file(mirror, home, monkeypatch) -> None:
    real_open = open

    class Full:
        def __init__(self, *a, **k):  # noqa: ANN002, ANN003
            self.fh = real_open(*a, **k)

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            self.fh.close()

        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

    monkeypatch.setattr(D, "open", Full, raising=False)
    with pytest.raises(DataError, match="is full") as err:
        C.fetch("horse2zebra", retries=0, show_progress=False)
    assert "\n" not in str(err.value)
    assert not any(C.models_dir().iterdir())  # no partial file under any name


def test_plain_progress_lines_off_a_terminal(mirror, home, capsys) -> None:
    from translate.jobs import logs

    logs.configure(1)
    C.fetch("horse2zebra", show_progress=True)
    err = capsys.readouterr().err
    size = len(mirror.files[H2Z_PATH]) / 1e6
    assert err.startswith("horse2zebra: http://127.0.0.1:") and H2Z_PATH in err  # the label names the URL fetched
    assert f"{size:.1f} MB of {size:.1f} MB (100%)" in err and "\x1b[" not in err
    logs.configure(0)
    C.fetch("horse2zebra", force=True, show_progress=True)
    assert capsys.readouterr().err == ""  # -q: nothing


def test_a_bad_lock_file_and_bad_entries_are_one_line(home) -> None:
    C.models_dir().mkdir(parents=True)
    C.lock_path().write_text("{not json")
    with pytest.raises(DataError, match="not a valid lock file"):
        C.read_lock()
    with pytest.raises(DataError, match="generator must be one of"):
        C.parse_catalog('[models.x]\nvariant = "cyclegan"\ngenerator = "resnet_6"\nnorm = "instance"\nurl = "http://x/y"')
    with pytest.raises(WeightsError, match="model not found"):
        import translate

        translate.load("no/such/file.pth")
