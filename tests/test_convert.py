"""Folder conversion: every bad-input case, odd image modes, mirroring, reruns, tiling, safety."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.inference.convert import EXISTS, MANIFEST, ConvertOptions, convert
from translate.errors import ConfigError, DataError
from translate.inference.export import demo_image, export_onnx
from translate.nets import build_net
from translate.inference.backends import TorchRunner
from translate.inference.loading import load
from translate.inference.translator import Translator

META = {"input": "image", "in_channels": 3, "out_channels": 3, "in_range": [-1.0, 1.0], "out_range": [-1.0, 1.0],
        "size_multiple": 4, "scale": 1}
QUIET = {"progress": False, "workers": 2}


@pytest.fixture(scope="module")
def official_pth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny generator saved in the official CycleGAN key layout."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.pth"
    torch.save(build_net("resnet", ngf=4, n_blocks=1).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def translator(official_pth: Path) -> Translator:
    return load(official_pth, device="cpu")


def _save(img: Image.Image, path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)
    return path


def messy_folder(root: Path) -> dict[str, tuple[int, int]]:
    """Images in every awkward mode (name -> displayed size), bad files, and things to ignore."""
    rng = np.random.default_rng(3)

    def rgb(h: int, w: int) -> Image.Image:
        return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))

    _save(rgb(30, 41), root / "rgb.png")
    _save(rgb(30, 41).convert("L"), root / "gray.png")
    rgba = rgb(30, 41).convert("RGBA")
    rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 41, dtype=np.uint8), (30, 1))))
    _save(rgba, root / "rgba.png")
    _save(rgb(30, 41).convert("LA"), root / "la.png")
    _save(rgb(30, 41).convert("P"), root / "palette.png")
    _save(rgb(30, 41).convert("P"), root / "anim.gif", transparency=0)
    _save(Image.fromarray(rng.integers(0, 65536, (30, 41), dtype=np.uint16)), root / "deep16.png")
    _save(rgb(30, 41).convert("CMYK"), root / "cmyk.jpg", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 30×41, shown rotated by 90°: 41 high, 30 wide
    _save(rgb(30, 41), root / "rotated.jpg", exif=exif)
    _save(rgb(22, 17), root / "sub" / "deeper" / "nested.jpg")
    # bad files
    (root / "empty.png").write_bytes(b"")
    buf = io.BytesIO()
    rgb(60, 60).save(buf, "JPEG")
    (root / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    buf = io.BytesIO()
    rgb(60, 60).save(buf, "PNG")
    (root / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (root / "notimage.jpg").write_text("this is not a JPEG\n")
    _save(rgb(120, 120), root / "huge.png")  # above the test's 10,000-pixel limit
    # skipped (not images we read) and ignored (hidden)
    (root / "notes.txt").write_text("hello")
    (root / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    _save(rgb(8, 8), root / ".hidden.png")
    _save(rgb(8, 8), root / ".cache" / "thumb.png")
    return {"rgb.png": (41, 30), "gray.png": (41, 30), "rgba.png": (41, 30), "la.png": (41, 30),
            "palette.png": (41, 30), "anim.png": (41, 30), "deep16.png": (41, 30), "cmyk.jpg": (41, 30),
            "rotated.jpg": (30, 41), "sub/deeper/nested.jpg": (17, 22)}


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_messy_folder_converts_what_it_can_and_reports_the_rest(translator, tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    expected = messy_folder(src)
    before = _digest(src)
    lines: list[str] = []
    report = convert(translator, src, dst, ConvertOptions(max_pixels=10_000, **QUIET), log=lines.append)

    assert _digest(src) == before  # inputs byte-identical, nothing added next to them
    assert sorted(str(p.relative_to(dst)) for p in report.converted) == sorted(expected)
    for rel, size in expected.items():
        with Image.open(dst / rel) as img:
            assert img.size == size, rel
    hidden = [p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.name.startswith(".")]
    assert hidden == [MANIFEST]  # no temp files, no hidden inputs: only the record of what made each output
    with Image.open(dst / "rgba.png") as img:  # transparency is carried over
        assert img.mode == "RGBA" and np.array_equal(np.asarray(img)[..., 3], np.tile(np.linspace(0, 255, 41, dtype=np.uint8), (30, 1)))

    failed = {p.name: reason for p, reason in report.failed}
    assert set(failed) == {"empty.png", "truncated.jpg", "truncated.png", "notimage.jpg", "huge.png"}
    assert "empty file" in failed["empty.png"]
    assert "truncated" in failed["truncated.jpg"] and "truncated" in failed["truncated.png"]
    assert "not an image" in failed["notimage.jpg"]
    assert "too large" in failed["huge.png"] and "14,400" in failed["huge.png"]
    skipped = {p.name: reason for p, reason in report.skipped}
    assert set(skipped) == {"notes.txt", "photo.heic"} and "unsupported extension '.heic'" in skipped["photo.heic"]
    assert len(lines) == 7 and all("\n" not in line for line in lines)
    assert report.summary().startswith("converted 10, skipped 2, failed 5")


def test_rerun_skips_finished_outputs_and_overwrite_redoes_them(translator, tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    messy_folder(src)
    opts = ConvertOptions(max_pixels=10_000, **QUIET)
    convert(translator, src, dst, opts)
    stamps = {p: p.stat().st_mtime_ns for p in dst.rglob("*") if p.is_file()}
    again = convert(translator, src, dst, opts)
    assert again.converted == [] and sum(r == EXISTS for _, r in again.skipped) == 10 and len(again.failed) == 5
    assert {p: p.stat().st_mtime_ns for p in dst.rglob("*") if p.is_file()} == stamps
    redo = convert(translator, src, dst, ConvertOptions(max_pixels=10_000, overwrite=True, **QUIET))
    assert len(redo.converted) == 10
    # where the time went: every stage ran, and the generator's share is within the wall time
    assert set(redo.stages) == {"decode", "forward", "encode"} and min(redo.stages.values()) > 0
    assert redo.stages["forward"] <= redo.seconds


def test_output_inside_or_equal_to_input_is_refused(translator, tmp_path, cli, official_pth):
    src = tmp_path / "in"
    _save(Image.new("RGB", (8, 8)), src / "a.png")
    for dst in (src, src / "out", src / "a" / "b"):
        with pytest.raises(DataError, match="inside the input folder"):
            convert(translator, src, dst, ConvertOptions(**QUIET))
    assert sorted(p.name for p in src.rglob("*")) == ["a.png"]
    code, out = cli("convert", str(official_pth), str(src), str(src / "out"), "--no-progress")
    assert code == 1 and "inside the input folder" in out and "Traceback" not in out
    with pytest.raises(DataError, match="is the input file itself"):
        convert(translator, src / "a.png", src / "a.png", ConvertOptions(**QUIET))


def test_cli_exit_code_and_summary(official_pth, tmp_path, cli):
    src = tmp_path / "in"
    messy_folder(src)
    code, out = cli("convert", str(official_pth), str(src), str(tmp_path / "out"), "--no-progress", "--max-pixels", "10000")
    assert code == 1
    assert "failed" in out and "empty file (0 bytes)" in out and "converted 10, skipped 2, failed 5" in out
    clean = tmp_path / "clean"
    _save(Image.new("RGB", (12, 9), "red"), clean / "x.jpg")
    code, out = cli("convert", str(official_pth), str(clean), str(tmp_path / "out2"), "--no-progress", "--ext", "webp")
    assert code == 0 and "converted 1, skipped 0, failed 0" in out
    assert (tmp_path / "out2" / "x.webp").is_file()


def test_formats_single_files_and_name_collisions(translator, tmp_path):
    src = tmp_path / "in"
    img = Image.fromarray(demo_image(40, 48))
    _save(img, src / "a.png")
    _save(img, src / "a.gif")  # would also become a.png
    report = convert(translator, src, tmp_path / "out", ConvertOptions(**QUIET))
    assert sorted(p.name for p in report.converted) == ["a.png", "a_gif.png"]
    q = {}
    for quality in (30, 95):
        out = tmp_path / f"q{quality}"
        convert(translator, src, out, ConvertOptions(ext="jpg", quality=quality, **QUIET))
        q[quality] = (out / "a.jpg").stat().st_size
    assert q[30] < q[95]
    single = convert(translator, src / "a.png", tmp_path / "one" / "b.webp", ConvertOptions(**QUIET))
    assert single.converted == [tmp_path / "one" / "b.webp"]
    with Image.open(single.converted[0]) as out:
        assert out.format == "WEBP" and out.size == (48, 40)


def test_batching_does_not_change_results(translator, tmp_path):
    src = tmp_path / "in"
    for i in range(5):
        _save(Image.fromarray(np.roll(demo_image(28, 36), 5 * i, axis=1)), src / f"{i}.png")
    _save(Image.fromarray(demo_image(20, 24)), src / "other_size.png")
    one = convert(translator, src, tmp_path / "b1", ConvertOptions(batch_size=1, **QUIET))
    four = convert(translator, src, tmp_path / "b4", ConvertOptions(batch_size=4, **QUIET))
    assert len(one.converted) == len(four.converted) == 6
    for a, b in zip(sorted(one.converted), sorted(four.converted)):
        assert np.abs(np.asarray(Image.open(a), int) - np.asarray(Image.open(b), int)).max() <= 1


class _Counting:
    """Wraps a runner and counts forward passes."""

    backend = "torch"

    def __init__(self, runner: TorchRunner) -> None:
        self.runner, self.calls = runner, 0

    def __call__(self, inputs: dict) -> np.ndarray:
        self.calls += 1
        return self.runner(inputs)


def test_tiles_blend_without_visible_seams():
    """A fully-convolutional generator (no InstanceNorm): tiled ≈ untiled to < 1/255 on average."""
    torch.manual_seed(1)
    net = build_net("resnet", ngf=8, n_blocks=2, norm="none")
    for m in net.modules():  # He init without norm layers: a busy, high-contrast picture
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    counting = _Counting(TorchRunner(net, "cpu"))
    t = Translator("G", META, counting)
    image = demo_image(150, 190)
    whole = t(image).astype(np.float64)
    assert counting.calls == 1 and whole.std() > 50
    tiled = t(image, tile=96, overlap=32).astype(np.float64)
    assert counting.calls == 1 + 6  # 2 × 3 tiles
    assert tiled.shape == whole.shape == (150, 190, 3)
    assert np.abs(tiled - whole).mean() < 1.0  # < 1/255 of the range
    seams = t(image, tile=96, overlap=0).astype(np.float64)  # abutting tiles, no blending
    assert np.abs(seams - whole).mean() > 2 * np.abs(tiled - whole).mean()


def test_large_images_are_tiled_by_convert(tmp_path):
    torch.manual_seed(1)
    counting = _Counting(TorchRunner(build_net("resnet", ngf=4, n_blocks=1, norm="none"), "cpu"))
    t = Translator("G", META, counting)
    _save(Image.fromarray(demo_image(90, 70)), tmp_path / "in" / "big.png")
    report = convert(t, tmp_path / "in", tmp_path / "out", ConvertOptions(tile=40, overlap=8, **QUIET))
    assert len(report.converted) == 1 and counting.calls > 1
    assert Image.open(report.converted[0]).size == (70, 90)


def test_onnx_model_converts_like_torch(official_pth, translator, tmp_path, cli):
    onnx_file = tmp_path / "tiny.onnx"
    export_onnx(official_pth, onnx_file, exporter="torchscript", check=False)
    src = tmp_path / "in"
    _save(Image.fromarray(demo_image(30, 42)), src / "a.png")
    code, out = cli("convert", str(onnx_file), str(src), str(tmp_path / "onnx_out"), "--no-progress")
    assert code == 0, out
    convert(translator, src, tmp_path / "torch_out", ConvertOptions(**QUIET))
    a = np.asarray(Image.open(tmp_path / "onnx_out" / "a.png"), int)
    b = np.asarray(Image.open(tmp_path / "torch_out" / "a.png"), int)
    assert np.abs(a - b).max() <= 1


def test_inputs_are_never_written_whatever_the_symlinks(translator, tmp_path):
    """out/sub -> in/ (a folder link into the inputs) and out/x.png -> in/x.png (a file link)."""
    src = tmp_path / "in"
    img = Image.fromarray(demo_image(16, 20))
    for name in ("a.png", "sub/a.png", "x.png"):
        _save(img, src / name)
    before = _digest(src)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(src, target_is_directory=True)  # out/sub/a.png would be in/a.png
    (out / "x.png").symlink_to(src / "x.png")
    for overwrite in (False, True):
        report = convert(translator, src, out, ConvertOptions(overwrite=overwrite, **QUIET))
        reasons = dict((p.relative_to(src).as_posix(), r) for p, r in report.failed)
        assert "resolves to" in reasons["sub/a.png"] and "input" in reasons["x.png"], reasons
        assert [p.relative_to(out).as_posix() for p in report.converted] == ["a.png"]
        assert _digest(src) == before  # byte for byte
        assert not report.ok
    (tmp_path / "dirout").mkdir()
    (tmp_path / "dirout" / "a.png").mkdir()  # an output path that is a directory is a failure, not "done"
    report = convert(translator, src, tmp_path / "dirout", ConvertOptions(**QUIET))
    assert any("exists as a directory" in r for _, r in report.failed)


def test_colliding_output_names_stay_distinct(translator, tmp_path):
    src = tmp_path / "in"
    img = Image.fromarray(demo_image(16, 20))
    for name in ("c.png", "c.gif", "c_gif.png"):
        _save(img, src / name)
    lines: list[str] = []
    report = convert(translator, src, tmp_path / "out", ConvertOptions(**QUIET), log=lines.append)
    assert len(report.converted) == 3 and len(set(report.converted)) == 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [MANIFEST, "c.png", "c_gif.png", "c_gif_2.png"]
    assert any(line.startswith("renamed") and "c.gif" in line for line in lines)


def test_a_tile_too_small_is_refused_up_front(translator, tmp_path):
    src = tmp_path / "in"
    _save(Image.fromarray(demo_image(16, 20)), src / "a.png")
    with pytest.raises(ConfigError, match="--tile 1 is too small for this generator: use at least 8"):
        convert(translator, src, tmp_path / "out", ConvertOptions(tile=1, **QUIET))
