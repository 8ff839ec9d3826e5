"""The Python API: what a translator takes (PIL, paths, uint8 arrays and batches, float tensors,
lists) and gives back, and the one clear error for anything else."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import translate
from translate.inference.backends import TorchRunner
from translate.inference.translator import Translator


class _Invert(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -x


@pytest.fixture(scope="module")
def t() -> Translator:
    meta = {"input": "image", "in_channels": 3, "out_channels": 3, "in_range": [-1.0, 1.0],
            "out_range": [-1.0, 1.0], "size_multiple": 4, "scale": 1}
    return Translator("AtoB", meta, TorchRunner(_Invert(), "cpu"))


def test_exports_and_version() -> None:
    assert translate.Translator is Translator and callable(translate.load) and callable(translate.open_model)
    assert set(translate.__all__) == {"Model", "Translator", "__version__", "load", "open_model"}
    assert translate.__version__[0].isdigit()


def test_every_input_kind_comes_back_in_its_own_kind(t, tmp_path) -> None:
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (10, 13, 3), dtype=np.uint8)
    inverted = 255 - hwc
    assert np.abs(t(hwc).astype(int) - inverted).max() <= 1
    nhwc = np.stack([hwc, hwc[::-1].copy()])
    out = t(nhwc)
    assert out.shape == nhwc.shape and np.abs(out[1].astype(int) - inverted[::-1]).max() <= 1
    pil = t(Image.fromarray(hwc))
    assert isinstance(pil, Image.Image) and pil.size == (13, 10)
    Image.fromarray(hwc).save(tmp_path / "a.png")
    assert isinstance(t(tmp_path / "a.png"), Image.Image)
    pair = t([hwc, Image.fromarray(hwc)])
    assert isinstance(pair, list) and isinstance(pair[0], np.ndarray) and isinstance(pair[1], Image.Image)
    x = torch.rand(3, 10, 13)
    y = t(x)
    assert isinstance(y, torch.Tensor) and y.shape == x.shape and torch.allclose(y, 1 - x, atol=1e-6)
    xb = torch.rand(2, 3, 9, 9, dtype=torch.float64)
    yb = t(xb)
    assert yb.shape == xb.shape and yb.dtype == torch.float64 and yb.device == xb.device
    assert torch.allclose(yb, 1 - xb, atol=1e-6)


def test_help_of_load_documents_sources_and_input_kinds() -> None:
    doc = translate.load.__doc__
    for words in ("run directory", ".safetensors", ".onnx", "direction", "PIL image", "uint8 array", "NxHxWxC",
                  "float tensor CxHxW", "list", "alpha", "from PIL import Image"):
        assert words in doc, words


def test_transparency_comes_back_as_convert_writes_it(t, tmp_path) -> None:
    """An RGBA input keeps its alpha through the API, with the very pixels `translate convert` writes."""
    from translate.inference.convert import convert

    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (12, 9, 4), dtype=np.uint8)
    rgba[0, 0, 3] = 0  # one fully transparent pixel: composited onto white before translating
    (tmp_path / "in").mkdir()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "in" / "a.png")
    convert(t, tmp_path / "in", tmp_path / "out")
    with Image.open(tmp_path / "out" / "a.png") as img:
        written = np.asarray(img.convert("RGBA"))
    for got in (t(Image.fromarray(rgba, "RGBA")), t(tmp_path / "in" / "a.png")):
        assert got.mode == "RGBA" and np.array_equal(np.asarray(got), written)
    arr = t(rgba)
    assert arr.shape == (12, 9, 4) and np.array_equal(arr, written)
    assert np.array_equal(arr[..., 3], rgba[..., 3]) and tuple(arr[0, 0, :3]) == (0, 0, 0)  # white, inverted
    assert t(np.stack([rgba, rgba])).shape == (2, 12, 9, 4)
    assert t(Image.fromarray(rgba[..., :3])).mode == "RGB"  # no alpha in, none out


@pytest.mark.parametrize("bad,error,words", [
    ("not an image object", TypeError, "takes a PIL image"),
    (np.zeros((4, 4, 3), np.float32), ValueError, "takes uint8 arrays"),
    (np.zeros((1, 1, 4, 4, 3), np.uint8), ValueError, "HxW, HxWxC or NxHxWxC"),
    (torch.zeros(4, 4, dtype=torch.float32), ValueError, "CxHxW or NxCxHxW"),
    (torch.zeros(1, 3, 4, 4, dtype=torch.uint8), ValueError, "float tensors"),
    (torch.zeros(1, 4, 8, 8), ValueError, "3-channel images, got 4"),
])
def test_a_wrong_input_names_what_is_accepted(t, bad, error, words) -> None:
    with pytest.raises(error, match=words):
        t(1.5 if isinstance(bad, str) else bad)
