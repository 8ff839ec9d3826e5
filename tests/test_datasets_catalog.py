"""The dataset catalog: its contents, the data dir, --data resolution, and the CLI."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from translate.cli import _register, app
from translate.data.catalog import data_dir, is_fetched, load_catalog, parse_catalog, resolve_data
from translate.errors import DataError

CYCLEGAN = ["horse2zebra", "apple2orange", "summer2winter_yosemite", "monet2photo", "cezanne2photo",
            "ukiyoe2photo", "vangogh2photo", "iphone2dslr_flower", "maps", "facades"]


def test_catalog_has_the_real_datasets() -> None:
    cat = load_catalog()
    for name in CYCLEGAN:
        e = cat[name]
        assert e.kind == "unpaired" and set(e.layout) == {"trainA", "trainB", "testA", "testB"}
        assert e.urls == (f"http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip",)
    for name in ("edges2shoes", "edges2handbags"):
        assert cat[name].kind == "paired" and set(cat[name].layout) == {"train", "val"}
        assert cat[name].urls == (f"http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz",)
    assert cat["horse2zebra"].counts == {"trainA": 1067, "trainB": 1334, "testA": 120, "testB": 140}
    assert cat["apple2orange"].counts == {"trainA": 995, "trainB": 1019, "testA": 266, "testB": 248}
    assert cat["summer2winter_yosemite"].counts == {"trainA": 1231, "trainB": 962, "testA": 309, "testB": 238}
    assert cat["div2k_train_hr"].counts == {"hr": 800} and cat["div2k_valid_hr"].counts == {"hr": 100}
    assert cat["div2k_train_hr"].urls == ("https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_train_HR.zip",)
    for name, n in (("set5", 5), ("set14", 14), ("bsd100", 100)):
        assert cat[name].kind == "sr" and cat[name].urls == () and cat[name].counts == {"hr": n}
    for name in ("cityscapes", "celeba"):
        assert cat[name].is_manual and cat[name].urls == ()
    for e in cat.values():  # checksums are either real-looking or absent, never placeholders
        assert e.sha256 == "" or re.fullmatch(r"[0-9a-f]{64}", e.sha256)
        assert e.licence


def test_bad_catalog_entries_are_reported() -> None:
    with pytest.raises(DataError, match="kind 'weird'"):
        parse_catalog('[datasets.x]\nkind = "weird"\n')
    with pytest.raises(DataError, match="sha256"):
        parse_catalog('[datasets.x]\nkind = "sr"\nsha256 = "abc"\n')


def test_data_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRANSLATE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "translate" / "datasets"
    monkeypatch.setenv("TRANSLATE_DATA", str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    assert data_dir(tmp_path / "flag") == tmp_path / "flag"


def test_resolve_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    assert resolve_data(str(folder), tmp_path / "data") == folder
    with pytest.raises(DataError, match=r"not downloaded yet: run `translate datasets fetch horse2zebra`"):
        resolve_data("horse2zebra", tmp_path / "data")
    (tmp_path / "data" / "horse2zebra" / "trainA").mkdir(parents=True)
    assert resolve_data("horse2zebra", tmp_path / "data") == tmp_path / "data" / "horse2zebra"
    monkeypatch.setenv("TRANSLATE_DATA", str(tmp_path / "data"))
    assert resolve_data("Horse2Zebra") == tmp_path / "data" / "horse2zebra"
    with pytest.raises(DataError, match="neither an existing folder nor a catalog") as err:
        resolve_data(str(tmp_path / "nope"))
    assert "horse2zebra" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataError, match="by hand"):
        resolve_data("cityscapes")


def _invoke(*args: str):
    _register()
    return CliRunner().invoke(app, ["datasets", *args])


def test_cli_list_shows_names_and_fetched(tmp_path: Path) -> None:
    (tmp_path / "apple2orange" / "trainA").mkdir(parents=True)
    result = _invoke("list", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    for name in ["horse2zebra", "edges2shoes", "div2k_train_hr", "set5", "cityscapes"]:
        assert name in result.output
    row = next(line for line in result.output.splitlines() if line.startswith("apple2orange"))
    assert "yes" in row
    assert "manual" in next(line for line in result.output.splitlines() if line.startswith("celeba"))


def test_cli_fetch_from_local_archive_then_verify(tmp_path: Path) -> None:
    archive = tmp_path / "Set5.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(5):
            zf.writestr(f"Set5/original/{i}.png", b"png%d" % i)
        zf.writestr("Set5/LRbicx4/0.png", b"lr")
    data = tmp_path / "data"
    result = _invoke("fetch", "set5", "--dir", str(data), "--url", str(archive))
    assert result.exit_code == 0, result.output
    assert "fetched set5" in result.output and is_fetched("set5", data)
    assert sorted(p.name for p in (data / "set5" / "hr").iterdir()) == [f"{i}.png" for i in range(5)]
    assert archive.exists()  # the user's own archive is never consumed

    result = _invoke("verify", "set5", "--dir", str(data))
    assert result.exit_code == 0 and "ok" in result.output
    (data / "set5" / "hr" / "0.png").unlink()
    result = _invoke("verify", "set5", "--dir", str(data))
    assert result.exit_code == 1 and "differs" in result.output


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from translate.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["datasets", "verify", "horse2zebra", "--dir", str(tmp_path)])
    assert exc.value.code == 1  # a runtime failure (usage errors exit 2)
    err = capsys.readouterr().err.strip()
    assert err == "error: dataset 'horse2zebra' is not downloaded yet: run `translate datasets fetch horse2zebra`"
