"""The model behind `translate demo`, without a browser: convert's pixels for the same file, every
hostile upload as one line, nothing written outside its folder, a run's newest checkpoint picked up,
int8 exports found by name, example photos of the right domain, the facts of a run."""
from __future__ import annotations

import re
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.jobs import train as T
from translate.app.facts import arrow
from translate.app.session import Limits, Session
from translate.errors import ConfigError, DataError
from translate.jobs.rundir import RunDir

from conftest import QUIET, TINY, plan_run, write_images


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-step CycleGAN run at its TINY settings on a small folder (both directions); shared with
    tests/test_demo_page.py."""
    root = tmp_path_factory.mktemp("demo-run")
    write_images(root / "data" / "trainA", 4, seed=1)
    write_images(root / "data" / "trainB", 4, seed=2)
    write_images(root / "data" / "testA", 2, seed=3)
    write_images(root / "data" / "testB", 2, seed=4)
    plan = plan_run("cyclegan", root / "data", root / "runs", "tiny", [*TINY["cyclegan"], *QUIET, "steps=2"])
    T.run(plan)
    return plan.run_dir


def rotated_jpeg(path: Path) -> Path:
    """A JPEG stored 30×41 and shown rotated (EXIF orientation 6): 41 high, 30 wide."""
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (30, 41, 3), dtype=np.uint8)).save(path, exif=exif)
    return path


def png_bomb(path: Path, side: int = 12_000) -> Path:
    """A real PNG of side² 1-bit pixels (144 M for 12,000) in a few kB: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" * (1 + side // 8)
    raw = zlib.compress(row * side, 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return path


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_same_file_same_pixels_as_convert(tiny_run, tmp_path, cli):
    photo = rotated_jpeg(tmp_path / "photo.jpg")
    session = Session(str(tiny_run), workdir=tmp_path / "work")
    assert session.directions == ["AtoB", "BtoA"] and session.backends() == ["torch", "onnx"]
    for direction in session.directions:
        result = session.translate([photo], direction, "torch")
        assert not result.failed and len(result.pairs) == 1 and result.archive is None
        code, out = cli("convert", str(tiny_run), str(photo), str(tmp_path / f"{direction}.png"), "--direction",
                        direction, "--no-progress")
        assert code == 0, out
        page = np.asarray(Image.open(result.outputs[0]))
        assert page.shape == (41, 30, 3)  # EXIF orientation applied, as convert does
        assert np.array_equal(page, np.asarray(Image.open(tmp_path / f"{direction}.png")))
    assert "step 2 · torch" in result.message() and "translated 1 photo" in result.message()


def test_tiling_matches_convert(tiny_run, tmp_path, cli):
    photo = tmp_path / "wide.png"
    Image.fromarray(np.random.default_rng(6).integers(0, 256, (40, 100, 3), dtype=np.uint8)).save(photo)
    session = Session(str(tiny_run), workdir=tmp_path / "work")
    tiled = session.translate([photo], "AtoB", "torch", tile=32)  # 100 px wide: 4+ overlapping tiles
    code, out = cli("convert", str(tiny_run), str(photo), str(tmp_path / "tiled.png"), "--tile", "32", "--no-progress")
    assert code == 0, out
    assert np.array_equal(np.asarray(Image.open(tiled.outputs[0])), np.asarray(Image.open(tmp_path / "tiled.png")))
    untiled = np.asarray(Image.open(session.translate([photo], "AtoB", "torch").outputs[0]))
    assert not np.array_equal(untiled, np.asarray(Image.open(tiled.outputs[0])))  # the tile size mattered


def test_hostile_uploads_are_one_line_each_and_stay_in_the_folder(tiny_run, tmp_path):
    uploads = tmp_path / "work" / "gradio"
    uploads.mkdir(parents=True)
    (uploads / "notes.png").write_text("not an image at all")
    (uploads / "empty.jpg").write_bytes(b"")
    png_bomb(uploads / "bomb.png")
    good = write_images(uploads / "ok", 1)[0]
    before = files_under(tmp_path)
    session = Session(str(tiny_run), workdir=tmp_path / "work", limits=Limits(max_files=4))
    result = session.translate([uploads / "notes.png", uploads / "empty.jpg", uploads / "bomb.png", good], "AtoB")
    reasons = dict(result.failed)
    assert reasons["notes.png"] == "not an image, or an unsupported image format"
    assert reasons["empty.jpg"] == "empty file (0 bytes)"
    assert "exceeds the 89,478,485-pixel limit (decompression-bomb guard" in reasons["bomb.png"]
    assert len(result.pairs) == 1 and result.message().count("\n") == 3  # one line per file
    with pytest.raises(DataError, match="5 photos at once: up to 4 per request"):
        session.translate([good] * 5, "AtoB")
    with pytest.raises(ConfigError, match="unknown direction 'CtoD'; this model has: AtoB, BtoA"):
        session.translate([good], "CtoD")
    with pytest.raises(ConfigError, match="back end 'int8' is not available"):
        session.translate([good], "AtoB", "int8")
    bad_tile = session.translate([good], "AtoB", "torch", tile=4)
    assert "--tile 4 is too small" in bad_tile.failed[0][1]
    written = files_under(tmp_path) - before
    assert written and all((tmp_path / "work") in p.parents for p in written)
    assert not any(p.suffix == ".png" and p.parent == uploads for p in written)  # inputs only ever read


def test_several_photos_give_a_zip_and_distinct_names(tiny_run, tmp_path):
    import zipfile

    a = write_images(tmp_path / "a", 2, seed=7)
    b = write_images(tmp_path / "b", 1, seed=8)  # img_000.png again, from another folder
    tiff = tmp_path / "c" / "scan.tif"
    tiff.parent.mkdir()
    Image.open(a[0]).save(tiff)
    session = Session(str(tiny_run), workdir=tmp_path / "work")
    result = session.translate([*a, *b, tiff], "BtoA")
    assert [p.name for p in result.outputs] == ["img_000-BtoA.png", "img_001-BtoA.png", "img_000-BtoA_2.png",
                                                "scan-BtoA.png"]
    assert result.pairs[3][0].suffix == ".png"  # a TIFF is shown through a PNG of it; the others as uploaded
    assert result.pairs[0][0] == a[0]
    with zipfile.ZipFile(result.archive) as zf:
        assert sorted(zf.namelist()) == sorted(p.name for p in result.outputs)
        assert zf.read("scan-BtoA.png") == result.outputs[3].read_bytes()


def test_a_training_run_serves_its_newest_checkpoint(tiny_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    run = RunDir(run_dir)
    photo = write_images(tmp_path / "in", 1)[0]
    session = Session(str(run_dir), workdir=tmp_path / "work")
    first = session.translate([photo], "AtoB")
    assert session.step == 2 and "step 2 ·" in first.served
    state = torch.load(run.checkpoint_path(2), weights_only=True)
    for key, value in state["nets"]["G_AB"].items():
        if value.is_floating_point():
            value.mul_(0.5)
    state["ema"] = None
    torch.save(state, run.checkpoint_path(6))  # a newer checkpoint lands while the page is up
    later = session.translate([photo], "AtoB")
    assert session.step == 6 and "step 6 ·" in later.served
    assert not np.array_equal(np.asarray(Image.open(first.outputs[0])), np.asarray(Image.open(later.outputs[0])))
    facts = {k: v for k, v, _ in session.facts()}
    assert facts["checkpoint"].startswith("step_00000006.pt (step 6)")
    run.checkpoint_path(9).write_bytes(b"truncated mid-write")
    assert session.refresh() is False and session.step == 6
    assert "could not load step_00000009.pt" in session.note and "still serving step_00000006.pt" in session.note
    assert session.translate([photo], "AtoB").pairs  # still serving


def test_facts_and_examples_of_a_run(tiny_run, tmp_path):
    from translate.app.examples import write_examples

    session = Session(str(tiny_run), workdir=tmp_path / "work")
    facts = {k: (v, why) for k, v, why in session.facts()}
    assert facts["variant"][0] == "cyclegan" and "cycle consistency" in facts["variant"][1]
    assert facts["data"][0].endswith("data") and facts["steps trained"][0] == "2 of 2"
    assert facts["generator"][0].startswith("resnet (ngf=4")
    assert facts["checkpoint"][0].startswith("step_00000002.pt (step 2)")
    examples = write_examples(session, tmp_path / "work" / "examples")
    assert [d for _, d in examples] == ["AtoB", "AtoB", "BtoA", "BtoA"]
    # the run's own held-out photos: testA/ for A→B, testB/ for B→A
    test_a = np.asarray(Image.open(tiny_run.parent.parent / "data" / "testA" / "img_000.png"))
    assert np.array_equal(np.asarray(Image.open(examples[0][0])), test_a)
    assert arrow("AtoB") == "A→B" and arrow("SR") == "SR"


def test_built_in_demo_examples_are_of_each_domain(tiny_run, tmp_path):
    from translate.app.examples import write_examples
    from translate.data.demos import apples

    run_dir = tmp_path / "demo-run"
    shutil.copytree(tiny_run, run_dir)
    config = RunDir(run_dir).read_config()
    RunDir(run_dir).write_config({**config, "data": None})  # as `translate train cyclegan` (no --data) writes it
    session = Session(str(run_dir), workdir=tmp_path / "work")
    examples = write_examples(session, tmp_path / "work" / "examples")
    assert [d for _, d in examples] == ["AtoB", "AtoB", "BtoA", "BtoA"]
    for (path, _), (domain, i) in zip(examples, [("A", 0), ("A", 1), ("B", 0), ("B", 1)]):  # held-out scenes
        assert np.array_equal(np.asarray(Image.open(path)),
                              apples.render(apples.scene(apples.TEST_SCENE_OFFSET + i), domain, 32))
    assert {k: v for k, v, _ in session.facts()}["data"] == "the built-in demo data"


@pytest.mark.slow
def test_exported_onnx_and_int8_files_are_found_by_name(tiny_run, tmp_path, monkeypatch, cli):
    from translate.inference.export import export_onnx

    folder = tmp_path / "exports"
    write_images(folder / "calib", 3, size=24)
    export_onnx(str(tiny_run), folder / "tiny-AtoB.onnx", "AtoB", exporter="torchscript", check=False)
    export_onnx(str(tiny_run), folder / "tiny-BtoA.int8.onnx", "BtoA", exporter="torchscript", quantize="int8",
                calibrate=folder / "calib", calibrate_count=2)
    monkeypatch.chdir(folder)  # `translate export` writes into the current folder by default
    session = Session(str(tiny_run), workdir=tmp_path / "work")
    assert session.backends() == ["torch", "onnx", "int8"]
    assert session.directions_with("int8") == ["BtoA"] and session.directions_with("onnx") == ["AtoB", "BtoA"]
    photo = write_images(tmp_path / "in", 1)[0]
    for backend, direction, file in (("onnx", "AtoB", "tiny-AtoB.onnx"), ("int8", "BtoA", "tiny-BtoA.int8.onnx")):
        result = session.translate([photo], direction, backend)
        assert result.pairs and backend in result.message()
        code, out = cli("convert", file, str(photo), str(tmp_path / f"{backend}.png"), "--no-progress")
        assert code == 0, out
        assert np.array_equal(np.asarray(Image.open(result.outputs[0])), np.asarray(Image.open(tmp_path / f"{backend}.png")))
    with pytest.raises(ConfigError, match="no int8 export of AtoB found"):
        session.translate([photo], "AtoB", "int8")
    facts = {k: v for k, v, _ in session.facts()}
    assert facts["onnx file"] == "tiny-AtoB.onnx" and facts["int8 file"] == "tiny-BtoA.int8.onnx"
    only = Session(str(folder / "tiny-BtoA.int8.onnx"), workdir=tmp_path / "work2")
    assert only.backends() == ["int8"] and only.directions == ["BtoA"]
    facts = {k: v for k, v, _ in only.facts()}
    assert facts["model"].endswith("(int8 ONNX model)") and re.fullmatch(r"\d+\.\d dB, \d\.\d\d× faster", facts["int8 vs fp32"])


def test_a_noise_generator_is_refused(tmp_path):
    plan = plan_run("gan", None, tmp_path / "runs", "g", [*TINY["gan"], *QUIET, "steps=1", "eval_samples=2"])
    T.run(plan)
    with pytest.raises(ConfigError, match="generates images from noise.*translate sample"):
        Session(str(plan.run_dir), workdir=tmp_path / "work")


def test_a_missing_gradio_is_one_line(tiny_run, cli, monkeypatch):
    import sys

    import os

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio -> ImportError
    before = {k: os.environ.get(k) for k in ("GRADIO_TEMP_DIR", "MPLCONFIGDIR", "GRADIO_ANALYTICS_ENABLED")}
    code, out = cli("demo", str(tiny_run), "--no-browser")
    assert code == 2 and out == "error: the browser demo needs Gradio: pip install 'translate-gan[demo]'"
    assert {k: os.environ.get(k) for k in before} == before  # the environment is put back


def test_bad_limits_are_one_line(tiny_run, cli):
    code, out = cli("demo", str(tiny_run), "--no-browser", "--max-files", "0")
    assert code == 2 and out == "error: --max-files must be at least 1, got 0"
    code, out = cli("demo", str(tiny_run), "--no-browser", "--max-file-mb", "-1")
    assert code == 2 and out == "error: --max-file-mb and --max-pixels must be positive"


def test_facts_of_a_shared_model_come_from_its_card(tiny_run, tmp_path):
    from translate.hub.push import push

    push(tiny_run, "someone/tiny", local_dir=tmp_path / "repo")  # the repo's files, as hf:// gets them
    session = Session(str(tmp_path / "repo" / "model.safetensors"), workdir=tmp_path / "work")
    facts = {k: v for k, v, _ in session.facts()}
    assert facts["model card"] == "README.md" and facts["data"] == "data"  # the run trained on .../data
    assert facts["variant"] == "cyclegan" and "licence" in facts
    (tmp_path / "repo" / "README.md").write_text("# some other project\n")  # not a card: nothing claimed
    facts = {k: v for k, v, _ in Session(str(tmp_path / "repo" / "model.safetensors"), workdir=tmp_path / "w2").facts()}
    assert "model card" not in facts and "data" not in facts
