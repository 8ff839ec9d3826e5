"""Untrusted strings never reach the terminal, the logs or HTML raw: file names, archive member
names and a model's plugin hint are printed with ESC, newlines and other control characters
escaped, so nothing can clear the screen, set a title or forge a summary line."""
from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import pytest
import torch

from translate.data.catalog.extract import UnsafeArchiveError, safe_extract
from translate.errors import PluginError
from translate.files import shown
from translate.nets import build_net

EVIL = "\x1b[2J\x1b]0;owned\x07\nconverted 12, skipped 0, failed 0\r\u202e"
FORGED = "converted 12, skipped 0, failed 0"


def _clean(text: str) -> None:
    assert not any(ch in text for ch in "\x1b\x07\r\u202e"), repr(text)
    assert FORGED not in text.splitlines(), repr(text)  # no forged line of its own


def test_shown_escapes_and_shortens() -> None:
    assert shown(EVIL) == "\\x1b[2J\\x1b]0;owned\\x07\\nconverted 12, skipped 0, failed 0\\r\\u202e"
    assert len(shown("x" * 5000)) == 239 and "…" in shown("x" * 5000)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.pth"
    torch.save(build_net("resnet", ngf=4, n_blocks=1).state_dict(), path)
    return path


def test_input_file_names_are_escaped_in_convert_lines(model, tmp_path, cli) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / f"bad{EVIL}.png").write_bytes(b"")  # an empty "image" with a hostile name: a failure line
    (src / f"note{EVIL}.txt").write_text("x")  # not an image: a skipped line
    code, out = cli("convert", str(model), str(src), str(tmp_path / "out"), "--no-progress")
    assert code == 1 and "empty file" in out and "\\x1b[2J" in out
    _clean(out)
    assert [line for line in out.splitlines() if line.startswith("converted")] == [
        next(line for line in out.splitlines() if line.startswith("converted 0, skipped 1, failed 1"))]


def test_archive_member_names_are_escaped(tmp_path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"../{EVIL}", b"x")
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, tmp_path / "out")
    _clean(str(info.value))
    assert "\\x1b" in str(info.value) and "\n" not in str(info.value)


def test_a_models_plugin_hint_is_escaped(model, tmp_path, cli) -> None:
    from translate.inference.export import export_safetensors
    from translate.inference.sources import load_source

    out = export_safetensors(model, tmp_path / "m.safetensors", variant="cyclegan").paths[0]
    side = out.with_suffix(".json")
    spec = json.loads(side.read_text())
    spec.pop("arch", None)
    spec.update(variant="nosuch", plugin=f"file {EVIL}.py", config={})
    side.write_text(json.dumps(spec))
    with pytest.raises(PluginError) as info:
        load_source(out)
    _clean(str(info.value))
    code, text = cli("convert", str(out), str(tmp_path), str(tmp_path / "o"), "--no-progress")
    assert code == 2
    _clean(text)


def test_log_lines_carry_no_control_characters(capsys) -> None:
    from translate.jobs import logs

    logs.configure(1)
    logging.getLogger("translate").info(f"file {EVIL}")
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\\x1b[2J" in err


def test_gallery_labels_that_are_not_ours_are_dropped(tmp_path) -> None:
    from translate.jobs.gallery import write_run_gallery
    from translate.jobs.rundir import RunDir

    run = RunDir(tmp_path / "r")
    run.samples_dir.mkdir(parents=True)
    (run.samples_dir / "step_00000001.png").write_bytes(b"")
    (run.samples_dir / "step_00000001.json").write_text(json.dumps(
        {"rows": ["<script>alert(1)</script>"], "columns": 1, "tile": ["1'", "><script>x</script>"], "padding": "2"}))
    page = write_run_gallery(run).read_text()
    assert "<script>x" not in page and "<script>alert" not in page
