"""Outputs never land on inputs, even with an attacker racing the conversion: a folder of the
output tree swapped for a link into the input tree between planning and writing, the output
folder being the input folder under another path (a bind mount), names at NAME_MAX, kill -9."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import torch
from PIL import Image

import translate.inference.convert as convert_mod
from translate.errors import DataError
from translate.files import OutputTree, clean_stale_temps, file_id
from translate.inference.convert import ConvertOptions, convert
from translate.inference.export import demo_image
from translate.inference.loading import load
from translate.nets import build_net

QUIET = {"progress": False, "workers": 2}


@pytest.fixture(scope="module")
def translator(tmp_path_factory: pytest.TempPathFactory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.pth"
    torch.save(build_net("resnet", ngf=4, n_blocks=1).state_dict(), path)
    return load(path, device="cpu")


def _inputs(src: Path, n: int, sub: str = "sub") -> None:
    img = Image.fromarray(demo_image(12, 16))
    for i in range(n):
        path = src / sub / f"im{i:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_folder_swapped_for_a_link_into_the_inputs_after_planning_is_never_written_through(translator, tmp_path, monkeypatch):
    src, out = tmp_path / "in", tmp_path / "out"
    _inputs(src, 40)
    convert(translator, src, out, ConvertOptions(**QUIET))  # out/sub exists: the planner sees a plain folder
    before = _digest(src)
    real_plan = convert_mod.plan

    def plan_then_swap(*args, **kwargs):
        work = real_plan(*args, **kwargs)
        shutil.rmtree(out / "sub")
        (out / "sub").symlink_to(src / "sub", target_is_directory=True)  # out/sub/imNN.png = the inputs
        return work

    monkeypatch.setattr(convert_mod, "plan", plan_then_swap)
    report = convert(translator, src, out, ConvertOptions(overwrite=True, **QUIET))
    assert _digest(src) == before  # 0 of 40 inputs changed
    assert report.converted == [] and len(report.failed) == 40
    assert all("cannot write" in reason for _, reason in report.failed)


def test_the_output_folder_itself_swapped_after_planning_is_refused(translator, tmp_path, monkeypatch):
    src, out = tmp_path / "in", tmp_path / "out"
    _inputs(src, 3, sub=".")
    before = _digest(src)
    real_plan = convert_mod.plan

    def plan_then_swap(*args, **kwargs):
        work = real_plan(*args, **kwargs)
        out.symlink_to(src, target_is_directory=True)
        return work

    monkeypatch.setattr(convert_mod, "plan", plan_then_swap)
    with pytest.raises(DataError, match="a folder of the input tree"):
        convert(translator, src, out, ConvertOptions(**QUIET))
    assert _digest(src) == before


def test_a_thread_swapping_links_in_and_out_while_convert_runs_changes_no_input(translator, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _inputs(src, 40)
    convert(translator, src, out, ConvertOptions(**QUIET))
    before = _digest(src)
    stop, swaps = threading.Event(), [0]
    parked = tmp_path / "parked"

    def attacker() -> None:
        while not stop.is_set():
            try:
                os.rename(out / "sub", parked)  # the real folder out, a link into the inputs in
                (out / "sub").symlink_to(src / "sub", target_is_directory=True)
                swaps[0] += 1
                os.unlink(out / "sub")
                os.rename(parked, out / "sub")
            except OSError:
                pass

    thread = threading.Thread(target=attacker)
    thread.start()
    try:
        report = convert(translator, src, out, ConvertOptions(overwrite=True, **QUIET))
    finally:
        stop.set()
        thread.join()
    assert swaps[0] > 0
    assert _digest(src) == before  # 0 inputs changed, whatever the interleaving
    assert len(report.converted) + len(report.failed) == 40


def test_an_output_tree_refuses_input_folders_and_files_by_identity(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    (inputs / "d").mkdir(parents=True)
    (inputs / "d" / "x.png").write_bytes(b"input")
    out.mkdir()
    (out / "link").symlink_to(inputs / "d", target_is_directory=True)
    with OutputTree(out, {file_id(inputs), file_id(inputs / "d")}, {file_id(inputs / "d" / "x.png")}) as tree:
        with pytest.raises(OSError):
            tree.write(out / "link" / "x.png", b"evil")  # a link is never followed below the root
        os.link(inputs / "d" / "x.png", out / "hard.png")
        with pytest.raises(OSError, match="is an input file"):
            tree.write(out / "hard.png", b"evil")
        assert tree.write(out / "new" / "y.png", b"ok").read_bytes() == b"ok"
    assert (inputs / "d" / "x.png").read_bytes() == b"input"
    with pytest.raises(OSError, match="a folder of the input tree"):
        OutputTree(out / "link", {file_id(inputs / "d")})


def _bind(source: Path, target: Path) -> bool:
    target.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True).returncode == 0


def test_the_input_folder_under_another_path_is_refused_as_output(translator, tmp_path):
    """A bind mount of the input folder (as root), else the same check on a symlinked path and a
    hard-linked input: device and inode, not path strings, decide."""
    src = tmp_path / "in"
    _inputs(src, 3, sub=".")
    before = _digest(src)
    mounted = tmp_path / "mnt"
    bound = _bind(src, mounted)
    try:
        if bound:
            assert file_id(mounted) == file_id(src) and mounted.resolve() != src.resolve()
            targets = [mounted, mounted / "out"]
        else:
            mounted.rmdir()
            mounted.symlink_to(src, target_is_directory=True)
            targets = [mounted, mounted / "out"]
        for dst in targets:
            for overwrite in (False, True):
                with pytest.raises(DataError, match="inside the input folder"):
                    convert(translator, src, dst, ConvertOptions(overwrite=overwrite, **QUIET))
        assert _digest(src) == before
    finally:
        if bound:
            subprocess.run(["umount", str(mounted)], check=True)


def test_an_output_on_an_input_under_another_name_is_refused(translator, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _inputs(src, 2, sub=".")
    before = _digest(src)
    out.mkdir()
    os.link(src / "im00.png", out / "im00.png")  # the same file, under the output's name
    report = convert(translator, src, out, ConvertOptions(overwrite=True, **QUIET))
    assert [p.name for p, _ in report.failed] == ["im00.png"] and "input file" in report.failed[0][1]
    assert _digest(src) == before


def test_names_of_254_and_255_bytes_convert(translator, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    img = Image.fromarray(demo_image(12, 16))
    names = ["a" * 251 + ".png", "b" * 250 + ".png", "é" * 125 + "x.png"]  # 255, 254 and 256-1 bytes
    names[2] = "é" * 124 + "xyz.png"  # 255 bytes in UTF-8
    assert [len(n.encode()) for n in names] == [255, 254, 255]
    for name in names:
        src.mkdir(exist_ok=True)
        img.save(src / name)
    report = convert(translator, src, out, ConvertOptions(**QUIET))
    assert report.ok and sorted(p.name for p in out.iterdir() if p.name != ".translate-outputs.jsonl") == sorted(names)


def test_temp_files_of_a_killed_writer_are_cleaned_on_the_next_run(translator, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _inputs(src, 2, sub=".")
    out.mkdir()
    stale = out / ".im00.png.a1b2c3d4.tmp"  # what kill -9 mid-write leaves: hidden, often 0 bytes
    stale.write_bytes(b"")
    fresh = out / ".im01.png.e5f6a7b8.tmp"  # a live writer's (young): kept
    fresh.write_bytes(b"partial")
    mine = out / ".notes.tmp"  # not a temp name of ours: kept
    mine.write_bytes(b"user file")
    old = os.stat(stale).st_mtime - 3600
    os.utime(stale, (old, old))
    report = convert(translator, src, out, ConvertOptions(**QUIET))
    assert report.ok and not stale.exists() and fresh.exists() and mine.exists()
    held = out / ".x.png.0badc0de.tmp"  # old, but locked by a writer that is still alive: kept
    held.write_bytes(b"")
    os.utime(held, (old, old))
    import fcntl

    with open(held, "rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        assert clean_stale_temps(out) == []
    assert clean_stale_temps(out) == [held]


def test_a_rerun_redoes_outputs_whose_input_is_another_or_changed(translator, tmp_path):
    from translate.inference.convert import EXISTS, MANIFEST

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    red, blue = Image.new("RGB", (12, 16), "red"), Image.new("RGB", (12, 16), "blue")
    red.save(src / "a.jpg")
    first = convert(translator, src, out, ConvertOptions(ext="png", **QUIET))
    assert [p.name for p in first.converted] == ["a.png"]
    made_from_jpg = (out / "a.png").read_bytes()
    blue.save(src / "a.png")  # a.png now takes the name a.png; a.jpg becomes a_jpg.png
    lines: list[str] = []
    second = convert(translator, src, out, ConvertOptions(ext="png", **QUIET), log=lines.append)
    assert sorted(p.name for p in second.converted) == ["a.png", "a_jpg.png"]
    assert any(line.startswith("redoing") and "a.png" in line for line in lines)
    assert (out / "a.png").read_bytes() != made_from_jpg  # now a.png's translation
    third = convert(translator, src, out, ConvertOptions(ext="png", **QUIET))
    assert third.converted == [] and sum(r == EXISTS for _, r in third.skipped) == 2  # nothing changed: all done
    blue.rotate(90, expand=True).save(src / "a.png")  # the same name, new content (size/mtime differ)
    os.utime(src / "a.png", ns=(1, 1))
    fourth = convert(translator, src, out, ConvertOptions(ext="png", **QUIET))
    assert [p.name for p in fourth.converted] == ["a.png"]
    assert Image.open(out / "a.png").size == (16, 12)
    assert (out / MANIFEST).is_file()
    # outputs of an earlier version (no record) are still taken as done
    (out / MANIFEST).unlink()
    assert convert(translator, src, out, ConvertOptions(ext="png", **QUIET)).converted == []
