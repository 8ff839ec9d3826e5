"""Packaging keeps its promises: the declared lower bounds cover every API the code calls, the
installed versions meet them, and the version is read from the package metadata."""
from __future__ import annotations

import importlib.metadata as md
import re
import tomllib
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"

# (distribution, the oldest version with the API, the API) — what the code calls, and why the bound is what it is
NEEDS = [
    ("torch", "2.6", "torch.export.Dim.DYNAMIC: ONNX export with dynamic N/H/W (inference/export.py)"),
    ("torch", "2.5", "torch.onnx.export(dynamo=True) (inference/export.py)"),
    ("torch", "2.3", "torch.amp.GradScaler(device) (engine/trainer.py)"),
    ("torch", "1.13", "torch.load(weights_only=True) (files.py)"),
    ("torchvision", "0.21", "the torchvision release built for torch 2.6"),
    ("albumentations", "2.0", "Compose.set_random_seed (data/transforms.py)"),
    ("opencv-python-headless", "4.9", "what albumentations 2.0 requires (cv2.INTER_CUBIC in data/)"),
    ("kornia", "0.7", "kornia.metrics.ssim(padding='valid') (metrics/image.py)"),
    ("onnxruntime", "1.17", "opset 18 and quantize_static/quant_pre_process (inference/)"),
    ("onnx", "1.15", "opset 18 models"),
    ("safetensors", "0.4", "safetensors.torch.save/load_file and safe_open metadata"),
    ("typer", "0.12", "typer.Option(..., autocompletion=), count options"),
    ("pillow", "10", "Image.Resampling, ImageOps.exif_transpose"),
    ("torch-fidelity", "0.3", "FeatureExtractorInceptionV3(feature_extractor_weights_path=) (metrics/fid.py)"),
]
PROBES = {  # the API itself, looked up in what is installed
    "torch.export.Dim.DYNAMIC": lambda: __import__("torch").export.Dim.DYNAMIC,
    "torch.amp.GradScaler": lambda: __import__("torch").amp.GradScaler,
    "Compose.set_random_seed": lambda: __import__("albumentations").Compose.set_random_seed,
    "kornia.metrics.ssim": lambda: __import__("kornia").metrics.ssim,
    "Image.Resampling": lambda: __import__("PIL.Image", fromlist=["Image"]).Resampling,
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def _declared() -> dict[str, str]:
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    out = {}
    for dep in deps:
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*>=\s*([0-9.]+)", dep)
        assert m, f"{dep}: declare a lower bound (>=)"
        out[m.group(1).lower()] = m.group(2)
    return out


@pytest.mark.parametrize("dist,oldest,api", NEEDS)
def test_declared_bounds_cover_the_apis_called(dist, oldest, api):
    declared = _declared()
    assert dist in declared, f"{dist} is used ({api}) but not declared"
    assert _version(declared[dist]) >= _version(oldest), f"{dist}>={declared[dist]} but {api} needs {oldest}"


def test_installed_versions_meet_the_bounds_and_the_apis_exist():
    for dist, bound in _declared().items():
        assert _version(md.version(dist)) >= _version(bound), f"{dist} {md.version(dist)} < {bound}"
    for api, probe in PROBES.items():
        assert probe() is not None, api
    meta = tomllib.loads(PYPROJECT.read_text())["project"]
    assert meta["requires-python"] == ">=3.11"  # tomllib


def test_version_from_metadata(cli):
    import translate

    assert translate.__version__ == md.version("translate-gan")
    code, out = cli("--version")
    assert code == 0 and out.strip() == f"translate {md.version('translate-gan')}"


def test_readme_install_notes_are_true():
    readme = (PYPROJECT.parent / "README.md").read_text()
    bound = tomllib.loads(PYPROJECT.read_text())["project"]["requires-python"].removeprefix(">=")
    assert f"Python {bound} or newer" in readme
    assert "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu" in readme
    for block in re.findall(r"```python\n(.*?)```", readme, re.S):  # every snippet imports what it uses
        if "Image." in block:
            assert "from PIL import Image" in block, block
        if "translate.load(" in block:
            assert "import translate\n" in block, block
