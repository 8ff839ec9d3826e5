"""Files that would exhaust memory or time are refused with one line before they expand: a
pickle-memo "billion laughs" in checkpoint metadata, a YAML alias bomb, a sidecar declaring far
bigger nets than its weights, a .pth with a deflated record, a PNG pixel bomb, a tar expanding
far beyond its size. Each runs in a subprocess under an address-space cap (RLIMIT_AS)."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import torch
from PIL import Image

from translate.nets import build_net

HEADROOM = 400 << 20  # bytes of address space the bomb may use beyond the imports
RUNNER = """
import json, resource, sys, traceback
import torch, numpy, PIL.Image, yaml, safetensors.torch  # imports first: the cap is on the work
import translate.inference.sources, translate.data.images, translate.data.catalog.extract, translate.jobs.rundir
vm = int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmSize:'))) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + {headroom}, vm + {headroom}))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
{code}
    print(json.dumps({{"ok": True}}))
except MemoryError:
    print(json.dumps({{"memory_error": True}}))
except Exception as err:
    print(json.dumps({{"error": type(err).__name__, "line": str(err),
                      "rss_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024}}))
"""


def _capped(code: str, timeout: float = 120) -> dict:
    body = "\n".join("    " + line for line in code.strip().splitlines())
    proc = subprocess.run([sys.executable, "-c", RUNNER.format(headroom=HEADROOM, code=body)],
                          capture_output=True, text=True, timeout=timeout, env={"OMP_NUM_THREADS": "1", "PATH": ""})
    assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _refused(result: dict, error: str, words: str) -> None:
    print("bomb:", error, result)
    assert result.get("error") == error, result
    assert words in result["line"] and "\n" not in result["line"] and len(result["line"]) < 500, result
    assert result["rss_mb"] < 200, result  # bounded: the bomb never expanded


def _laughs(depth: int = 60) -> list:
    a: list = ["lol"]
    for _ in range(depth):
        a = [a, a, a]
    return a


def test_a_pickle_memo_bomb_in_checkpoint_metadata(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "r" / "checkpoints" / "step_00000001.pt"
    path.parent.mkdir(parents=True)
    bomb = _laughs()
    torch.save({"format": "translate.checkpoint/1", "variant": bomb, "config": {"model": {"init_from": bomb}},
                "nets": {}}, path)
    assert path.stat().st_size < 10_000
    result = _capped(f"translate.inference.sources.load_source({str(path)!r})")
    _refused(result, "WeightsError", "expand to more than 1,000,000")
    from translate.engine.warmstart import read  # init_from reads sources the same way

    with pytest.raises(Exception, match="pickle bomb"):
        read(str(path))


def test_a_yaml_alias_bomb_in_a_run_config(tmp_path: Path) -> None:
    run = tmp_path / "r"
    run.mkdir()
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]
    (run / "config.yaml").write_text("\n".join(lines) + "\nvariant: *i\n")
    assert (run / "config.yaml").stat().st_size < 1100
    code = f"""
r = translate.jobs.rundir.RunDir({str(run)!r}).read_config()
assert r == {{}}, 'read'
import translate.config as C
C.read_file({str(run / 'config.yaml')!r})
"""
    _refused(_capped(code), "ConfigError", "alias bomb")


@pytest.mark.slow
def test_a_sidecar_declaring_far_bigger_nets_than_its_weights(tmp_path: Path) -> None:
    from translate.inference.export import export_safetensors

    pth = tmp_path / "tiny.pth"
    torch.save(build_net("resnet", ngf=4, n_blocks=1).state_dict(), pth)
    out = export_safetensors(pth, tmp_path / "m.safetensors", variant="cyclegan").paths[0]
    side = out.with_suffix(".json")
    spec = json.loads(side.read_text())
    spec["arch"]["kwargs"].update(ngf=1500, n_blocks=9)  # ~25 GB of parameters
    side.write_text(json.dumps(spec))
    result = _capped(f"translate.inference.sources.load_source({str(out)!r})")
    _refused(result, "WeightsError", "declares nets of")


@pytest.mark.slow
def test_a_pth_with_a_deflated_record(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pth"
    torch.save({"w": torch.zeros(4)}, plain)
    bomb = tmp_path / "bomb.pth"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("data/0"):
                data = bytes(300 << 20)  # 300 MiB declared, ~300 kB stored deflated
                dst.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
            else:
                dst.writestr(info, data)
    assert bomb.stat().st_size < 2 << 20
    result = _capped(f"translate.inference.sources.load_source({str(bomb)!r})")
    _refused(result, "WeightsError", "a zip bomb?")


@pytest.mark.slow
def test_a_png_pixel_bomb_for_every_image_reader(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("L", (9500, 9500)).save(path, optimize=True)  # 90 Mpx over the 89.5 Mpx limit
    assert path.stat().st_size < 400_000
    code = f"""
from pathlib import Path
from translate.inference.image_io import decode, BadImage
from translate.data.images import MAX_PIXELS
try:
    decode(Path({str(path)!r}), 3, MAX_PIXELS)
    raise AssertionError('decoded')
except BadImage as err:
    assert 'decompression-bomb guard' in str(err)
translate.data.images.load_image({str(path)!r})
"""
    _refused(_capped(code), "DataError", "over the 89,478,485-pixel limit")


def _zeros(n: int) -> io.RawIOBase:
    class Zeros(io.RawIOBase):
        left = n

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:
            k = min(len(b), self.left)
            b[:k] = bytes(k)
            self.left -= k
            return k

    return Zeros()


@pytest.mark.slow
def test_a_tar_expanding_far_beyond_its_size(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tf:
        info = tarfile.TarInfo("data/zeros.png")
        info.size = 300 << 20
        tf.addfile(info, _zeros(info.size))
    assert archive.stat().st_size < 3 << 20
    code = f"""
translate.data.catalog.extract.safe_extract({str(archive)!r}, {str(tmp_path / 'out')!r})
"""
    _refused(_capped(code), "UnsafeArchiveError", "over 200× its own size")
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(".out.extract") for p in tmp_path.iterdir())
