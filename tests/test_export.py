"""ONNX export (dynamic batch/H/W, metadata, onnxruntime parity), safetensors export, and
sampling noise-driven generators — with a tiny CoGAN-like conditional pair of our own."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import yaml
from PIL import Image

from translate.errors import TranslateError
from translate.inference.export import export_onnx, export_safetensors
from translate.nets import build_net
from translate.inference.sample import sample
from translate.inference.loading import load, open_model

PAIR_PLUGIN = '''
"""A tiny class-conditional generator pair sharing its trunk (CoGAN-like), for export tests."""
from dataclasses import dataclass

import torch
from torch import nn

from translate.variant import Variant, VariantConfig, option, register_variant


class Pair(nn.Module):
    def __init__(self, z_dim, num_classes, width):
        super().__init__()
        self.embed = nn.Embedding(num_classes, 4)
        self.trunk = nn.Sequential(nn.Linear(z_dim + 4, width * 16), nn.Unflatten(1, (width, 4, 4)),
                                   nn.ConvTranspose2d(width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU())
        self.heads = nn.ModuleList([nn.Sequential(nn.Conv2d(width, 3, 3, 1, 1), nn.Tanh()),
                                    nn.Sequential(nn.Conv2d(width, 1, 3, 1, 1), nn.Sigmoid())])


class Branch(nn.Module):
    def __init__(self, pair, i):
        super().__init__()
        self.pair, self.i = pair, i

    def forward(self, z, labels):
        h = self.pair.trunk(torch.cat([z, self.pair.embed(labels)], 1))
        return self.pair.heads[self.i](h)


@dataclass
class PairConfig(VariantConfig):
    z_dim: int = option(6, "noise size")
    num_classes: int = option(3, "classes")
    width: int = option(4, "channels")


@register_variant
class TinyPair(Variant):
    name = "tinypair_export_test"
    config = PairConfig

    def build(self, cfg):
        return {"G": Pair(cfg.z_dim, cfg.num_classes, cfg.width), "D": nn.Linear(2, 1)}

    def translators(self, nets):
        return {"A": Branch(nets["G"], 0), "B": Branch(nets["G"], 1)}

    def translator_meta(self, name, net):
        return {"input": "noise", "z_dim": self.cfg.z_dim, "num_classes": self.cfg.num_classes,
                "out_channels": 3 if name == "A" else 1, "out_range": [-1.0, 1.0] if name == "A" else [0.0, 1.0]}
'''




@pytest.fixture(scope="module")
def official_pth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("img") / "tiny.pth"
    torch.save(build_net("resnet", ngf=4, n_blocks=2).state_dict(), path)  # ReflectionPad + InstanceNorm
    return path


@pytest.fixture(scope="module")
def image_onnx(official_pth: Path, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    return path, export_onnx(official_pth, path)  # the default: dynamo exporter


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory of the plugin variant above, as the trainer writes it (no training)."""
    root = tmp_path_factory.mktemp("pair")
    plugin = root / "tiny_pair.py"
    plugin.write_text(PAIR_PLUGIN)
    from translate import discovery

    cls = discovery.user_variant(str(plugin))
    cfg = cls.config()
    torch.manual_seed(3)
    nets = cls(cfg).build(cfg)
    for m in nets["G"].modules():  # non-trivial BatchNorm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    model_cfg = {"z_dim": 6, "num_classes": 3, "width": 4}
    state = {"format": "translate.checkpoint/1", "variant": cls.name, "config": {"engine": {}, "model": model_cfg},
             "nets": {k: n.state_dict() for k, n in nets.items()}, "ema": None, "data": {"class_names": ["cat", "dog", "owl"]}}
    run = root / "run"
    (run / "checkpoints").mkdir(parents=True)
    torch.save(state, run / "checkpoints" / "step_00000010.pt")
    (run / "config.yaml").write_text(yaml.safe_dump({"variant": cls.name, "plugin_file": str(plugin), "model": model_cfg}))
    return run


@pytest.mark.slow
def test_image_onnx_parity_metadata_and_dynamic_shapes(official_pth, image_onnx):
    path, result = image_onnx
    assert result.exporter == "dynamo" and result.translators == ["AtoB"]
    print("ONNX parity max |Δ|:", result.parity)
    assert set(result.parity) == {"random input", "demo image"}
    assert max(result.parity.values()) <= 1e-4

    proto = onnx.load(str(path))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    spec = json.loads({p.key: p.value for p in proto.metadata_props}["translate"])
    assert spec["format"] == "translate.translator/1" and spec["arch"]["kwargs"]["n_blocks"] == 2
    assert spec["translators"]["AtoB"]["size_multiple"] == 4

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "image" and inp.shape[1] == 3
    assert all(isinstance(d, str) for d in (inp.shape[0], inp.shape[2], inp.shape[3]))  # symbolic N, H, W
    net = build_net("resnet", ngf=4, n_blocks=2).eval()
    net.load_state_dict(torch.load(official_pth, weights_only=True))
    for shape in [(1, 3, 16, 16), (3, 3, 44, 28), (2, 3, 60, 100)]:
        x = torch.rand(shape) * 2 - 1
        with torch.no_grad():
            expected = net(x).numpy()
        got = session.run(["AtoB"], {"image": x.numpy()})[0]
        assert got.shape == expected.shape and np.abs(got - expected).max() <= 1e-4


def test_falls_back_to_torchscript_when_dynamo_fails(official_pth, tmp_path, monkeypatch):
    real = torch.onnx.export

    def fake(*args, **kwargs):
        if kwargs.get("dynamo"):
            raise RuntimeError("unsupported op\nmore detail")
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", fake)
    result = export_onnx(official_pth, tmp_path / "ts.onnx")
    assert result.exporter == "torchscript" and result.notes == [
        "dynamo exporter failed (unsupported op); used the TorchScript exporter"]
    assert max(result.parity.values()) <= 1e-4


@pytest.mark.slow
def test_cli_export_prints_parity_and_writes_safetensors(official_pth, image_onnx, tmp_path, cli):
    code, out = cli("export", str(official_pth), "--format", "onnx", "-o", str(tmp_path / "g.onnx"), "--exporter", "torchscript")
    assert code == 0, out
    diffs = [float(x) for x in re.findall(r"max \|Δ\| = ([0-9.e+-]+)", out)]
    assert len(diffs) == 2 and max(diffs) <= 1e-4
    code, out = cli("export", str(official_pth), "--format", "safetensors", "-o", str(tmp_path / "g.safetensors"))
    assert code == 0, out
    assert (tmp_path / "g.safetensors").is_file() and (tmp_path / "g.json").is_file()
    photo = np.random.default_rng(1).integers(0, 256, (29, 33, 3), dtype=np.uint8)
    assert np.array_equal(load(tmp_path / "g.safetensors")(photo), load(official_pth)(photo))
    code, out = cli("export", str(image_onnx[0]), "-o", str(tmp_path / "again.onnx"))
    assert code == 1 and "already an ONNX model" in out


def test_noise_pair_exports_with_z_and_label(pair_run, tmp_path):
    path = tmp_path / "pair.onnx"
    result = export_onnx(pair_run, path)
    print("noise ONNX parity max |Δ|:", result.parity)
    assert result.translators == ["A", "B"] and max(result.parity.values()) <= 1e-4
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["z", "label"]
    assert [o.name for o in session.get_outputs()] == ["A", "B"]
    a, b = session.run(None, {"z": np.zeros((5, 6), np.float32), "label": np.array([0, 1, 2, 0, 1])})
    assert a.shape == (5, 3, 8, 8) and b.shape == (5, 1, 8, 8)  # dynamic batch

    torch_model, onnx_model = open_model(pair_run), open_model(path)
    assert onnx_model.translators["A"].class_names == ["cat", "dog", "owl"]
    z = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    labels = np.array([2, 1, 0, 2])
    for name in ("A", "B"):
        diff = torch_model.translators[name].generate(z, labels).astype(int) - onnx_model.translators[name].generate(z, labels)
        assert np.abs(diff).max() <= 1


def test_sample_grids_pairs_labels_and_separate(pair_run, tmp_path, cli):
    grid_file = tmp_path / "grid.png"
    code, out = cli("sample", str(pair_run), "-n", "6", str(grid_file), "--seed", "1")
    assert code == 0, out
    with Image.open(grid_file) as img:  # one row per class (3), 6 // 3 = 2 columns of A|B pairs
        cell_w, cell_h = 8 + 1 + 8, 8
        assert img.size == (2 * (cell_w + 2) + 2, 3 * (cell_h + 2) + 2)
        grid = np.asarray(img)
    pair = grid[2:10, 2:19]
    assert (pair[:, 8] == 255).all()  # the white gap between A and B
    model = open_model(pair_run)
    z = np.random.default_rng(1).standard_normal((2, 6)).astype(np.float32)
    a0 = model.translators["A"].generate(z, np.array([0, 0]))
    assert np.array_equal(pair[:, :8], a0[0])  # row 0 = class 0 ("cat"), column 0 = z[0]
    b_owl = model.translators["B"].generate(z, np.array([2, 2]))
    assert np.array_equal(grid[2 + 2 * 10 : 10 + 2 * 10, 2 + 9 : 2 + 17, 0], b_owl[0, ..., 0])

    paths = sample(model, tmp_path / "owls", n=3, label="owl", seed=5, separate=True)
    assert sorted(p.name for p in paths) == sorted(f"owl_{i:05d}_{d}.png" for i in range(3) for d in "AB")
    one = sample(model, tmp_path / "one.png", n=4, label=1, direction="B")
    assert Image.open(one[0]).size == (2 * 10 + 2, 2 * 10 + 2)
    with pytest.raises(TranslateError, match="unknown label 'fox'.*cat, dog, owl"):
        sample(model, tmp_path / "x.png", label="fox")


def test_noise_model_safetensors_round_trip_and_onnx_sampling(pair_run, tmp_path):
    result = export_safetensors(pair_run, tmp_path / "pair.safetensors")
    side = json.loads(result.paths[1].read_text())
    assert side["variant"] == "tinypair_export_test" and side["plugin"] == "file tiny_pair.py"
    assert list(side["translators"]) == ["A", "B"] and side["translators"]["A"]["class_names"] == ["cat", "dog", "owl"]
    reloaded, original = open_model(result.paths[0]), open_model(pair_run)
    z = np.random.default_rng(2).standard_normal((3, 6)).astype(np.float32)
    for name in ("A", "B"):
        assert np.array_equal(reloaded.translators[name].generate(z, np.arange(3)),
                              original.translators[name].generate(z, np.arange(3)))
    onnx_file = tmp_path / "pair_ts.onnx"
    export_onnx(result.paths[0], onnx_file, exporter="torchscript", check=False)
    via_onnx = sample(open_model(onnx_file), tmp_path / "o.png", n=6, seed=4)[0]
    via_torch = sample(original, tmp_path / "t.png", n=6, seed=4)[0]
    diff = np.asarray(Image.open(via_onnx), int) - np.asarray(Image.open(via_torch), int)
    assert np.abs(diff).max() <= 1


@pytest.mark.slow
def test_convert_backend_onnx_exports_on_the_fly(official_pth, tmp_path, cli):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.random.default_rng(4).integers(0, 256, (26, 31, 3), dtype=np.uint8)).save(src / "a.png")
    code, out = cli("convert", str(official_pth), str(src), str(tmp_path / "onnx"), "--backend", "onnx", "--no-progress")
    assert code == 0 and "AtoB (onnx)" in out, out
    code, out = cli("convert", str(official_pth), str(src), str(tmp_path / "torch"), "--no-progress")
    assert code == 0, out
    diff = np.asarray(Image.open(tmp_path / "onnx" / "a.png"), int) - np.asarray(Image.open(tmp_path / "torch" / "a.png"), int)
    assert np.abs(diff).max() <= 1
    code, out = cli("convert", str(official_pth), str(src), str(tmp_path / "x"), "--backend", "onnx", "--precision", "bf16")
    assert code == 2 and "ONNX models run in fp32" in out


NO_TORCH = '''
import sys


class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision", "kornia", "albumentations"):
            raise ImportError("torch is blocked in this test")


sys.meta_path.insert(0, Block())
from translate.inference.convert import ConvertOptions, convert
from translate.inference.sample import sample
from translate.inference.loading import load, open_model

image_onnx, pair_onnx, src, out = sys.argv[1:]
report = convert(load(image_onnx), src, out + "/converted", ConvertOptions(progress=False))
assert len(report.converted) == 1 and report.ok, report.summary()
sample(open_model(pair_onnx), out + "/grid.png", n=6)
assert "torch" not in sys.modules
print("ok without torch")
'''


@pytest.mark.slow
def test_onnx_inference_needs_no_torch(image_onnx, pair_run, tmp_path):
    import subprocess
    import sys

    pair_onnx = tmp_path / "pair.onnx"
    export_onnx(pair_run, pair_onnx, exporter="torchscript", check=False)
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.random.default_rng(4).integers(0, 256, (26, 31, 3), dtype=np.uint8)).save(src / "a.jpg")
    done = subprocess.run([sys.executable, "-c", NO_TORCH, str(image_onnx[0]), str(pair_onnx), str(src), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "ok without torch" in done.stdout, done.stderr[-2000:]
    assert Image.open(tmp_path / "converted" / "a.jpg").size == (31, 26)
    assert (tmp_path / "grid.png").is_file()
