"""Translators from every weights source: run dir, checkpoint, safetensors+sidecar, official
CycleGAN .pth, ONNX — and the pre/post-processing the meta asks for (ranges, scale, channels)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from PIL import Image
from torch import nn

import translate
from translate.errors import TranslateError, WeightsError
from translate.inference.export import export_onnx, export_safetensors
from translate.nets import build_net
from translate.inference.backends import TorchRunner
from translate.inference.loading import load, open_model
from translate.inference.translator import Translator

from conftest import TINY_CYCLEGAN, write_images




@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real two-step CycleGAN run (tiny nets) with a weight EMA."""
    from translate import config as C
    from translate.jobs import train as T

    root = tmp_path_factory.mktemp("run")
    write_images(root / "data" / "trainA", 4, seed=1)
    write_images(root / "data" / "trainB", 4, seed=2)
    sets = C.parse_sets([*TINY_CYCLEGAN, "num_workers=0", "steps=2", "ema=0.5", "sample_every=0"])
    plan = T.plan("cyclegan", str(root / "data"), None, "tiny", None, None, sets, [], root / "runs")
    T.run(plan)
    return plan.run_dir


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """An odd-sized RGB picture (not a multiple of the generator's size multiple 4)."""
    return np.random.default_rng(7).integers(0, 256, (37, 51, 3), dtype=np.uint8)


def _reference(net: nn.Module, image: np.ndarray) -> np.ndarray:
    """What a translator must do: [-1, 1], reflect-pad to ×4, forward, crop, back to uint8."""
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    h, w = image.shape[:2]
    x = F.pad(x, (0, -w % 4, 0, -h % 4), mode="reflect")
    with torch.no_grad():
        y = net.eval()(x)[0, :, :h, :w]
    return ((y.clamp(-1, 1) + 1) * 127.5 + 0.5).floor().clamp(0, 255).byte().permute(1, 2, 0).numpy()


def _checkpoint(run_dir: Path) -> Path:
    return sorted((run_dir / "checkpoints").glob("step_*.pt"))[-1]


def test_run_dir_prefers_ema_weights_and_keeps_full_resolution(run_dir, photo):
    state = torch.load(_checkpoint(run_dir), weights_only=True)
    t = translate.load(run_dir)  # the lazy top-level export
    assert t.name == "AtoB" and t.backend == "torch"
    assert t.meta.to_dict() == {"input": "image", "in_channels": 3, "out_channels": 3, "in_range": [-1.0, 1.0],
                                "out_range": [-1.0, 1.0], "size_multiple": 4, "scale": 1}
    out = t(Image.fromarray(photo))
    assert out.size == (51, 37) and out.mode == "RGB"

    cfg = state["config"]["model"]
    net = build_net(cfg["generator"], ngf=cfg["ngf"], norm=cfg["norm"])
    net.load_state_dict(state["ema"]["G_AB"])
    assert np.array_equal(np.asarray(out), _reference(net, photo))
    net.load_state_dict(state["nets"]["G_AB"])  # the raw weights give another picture
    assert not np.array_equal(np.asarray(out), _reference(net, photo))


def test_checkpoint_file_and_direction(run_dir, photo):
    model = open_model(_checkpoint(run_dir))
    assert list(model.translators) == ["AtoB", "BtoA"]
    b_to_a = load(_checkpoint(run_dir), "BtoA")(photo)
    assert np.array_equal(b_to_a, load(run_dir, direction="BtoA")(photo))
    assert not np.array_equal(b_to_a, load(run_dir)(photo))
    with pytest.raises(TranslateError, match="no direction 'CtoD'.*AtoB, BtoA"):
        load(run_dir, "CtoD")


def test_safetensors_with_sidecar_round_trip(run_dir, photo, tmp_path):
    result = export_safetensors(run_dir, tmp_path / "g.safetensors", "BtoA")
    weights, side = result.paths
    spec = json.loads(side.read_text())
    assert spec["variant"] == "cyclegan" and list(spec["translators"]) == ["BtoA"]
    assert spec["config"]["ngf"] == 4
    t = load(weights)
    assert t.name == "BtoA"
    assert np.array_equal(t(photo), load(run_dir, "BtoA")(photo))
    assert np.array_equal(load(side)(photo), t(photo))  # naming the sidecar works too

    spec["config"]["ngf"] = 8  # the sidecar now describes another architecture
    side.write_text(json.dumps(spec))
    with pytest.raises(WeightsError) as err:
        load(weights)
    message = str(err.value)
    assert "\n" not in message and "model.1.weight" in message and "(4, 3, 7, 7)" in message and "(8, 3, 7, 7)" in message

    side.unlink()  # the same JSON also sits in the safetensors header
    assert np.array_equal(load(weights)(photo), load(run_dir, "BtoA")(photo))
    from safetensors.torch import save_file  # a file with neither sidecar nor header cannot be rebuilt

    save_file({"w": torch.zeros(2)}, tmp_path / "bare.safetensors")
    with pytest.raises(WeightsError, match="needs its sidecar bare.json"):
        load(tmp_path / "bare.safetensors")


def _official_state(n_blocks: int, seed: int = 0) -> tuple[nn.Module, dict]:
    """A junyanz-layout generator state dict with the legacy InstanceNorm buffers of old releases."""
    torch.manual_seed(seed)
    net = build_net("resnet", ngf=4, n_blocks=n_blocks)
    sd = dict(net.state_dict())
    norms = [2, 5, 8, 11 + n_blocks + 1, 11 + n_blocks + 4]  # the InstanceNorm layers of model.*
    legacy = [f"model.{i}" for i in norms] + [f"model.{10 + b}.conv_block.{j}" for b in range(n_blocks) for j in (2, 6)]
    for prefix in legacy:
        sd[f"{prefix}.running_mean"] = torch.zeros(1)
        sd[f"{prefix}.running_var"] = torch.ones(1)
        sd[f"{prefix}.num_batches_tracked"] = torch.tensor(0)
    return net, sd


@pytest.mark.parametrize("n_blocks", [6, 9])
def test_official_cyclegan_pth_with_legacy_keys(tmp_path, photo, n_blocks):
    net, sd = _official_state(n_blocks)
    assert len([k for k in sd if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]) == 12 + 4 * n_blocks
    path = tmp_path / "horse2zebra.pth"
    torch.save(sd, path)
    model = open_model(path, variant="cyclegan")
    assert model.kind == "official" and model.spec.arch["kwargs"]["n_blocks"] == n_blocks
    t = model.pick()
    assert np.array_equal(t(photo), _reference(net, photo))
    assert np.array_equal(load(path)(photo), t(photo))  # the layout is recognised without --variant


def test_official_pth_that_does_not_fit_names_key_and_shapes(tmp_path):
    _, sd = _official_state(9)
    sd["model.4.weight"] = torch.zeros(8, 5, 3, 3)
    torch.save(sd, tmp_path / "bad.pth")
    with pytest.raises(WeightsError) as err:
        load(tmp_path / "bad.pth", variant="cyclegan")
    assert str(err.value).count("\n") == 0
    assert "model.4.weight" in str(err.value) and "(8, 5, 3, 3)" in str(err.value) and "(8, 4, 3, 3)" in str(err.value)
    with pytest.raises(WeightsError, match="only official generator layouts"):
        load(tmp_path / "bad.pth", variant="discogan")


def test_loading_never_runs_code(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"nets": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(WeightsError, match="loading never runs code"):
        load(tmp_path / "evil.pt")
    assert not marker.exists()
    with pytest.raises(WeightsError, match="model not found"):
        load(tmp_path / "missing.pt")
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(WeightsError, match="no checkpoint in"):
        load(tmp_path / "empty_run")


def test_onnx_source_runs_without_torch_modules(run_dir, photo, tmp_path):
    path = tmp_path / "g.onnx"
    export_onnx(run_dir, path, "BtoA", exporter="torchscript", check=False)
    t = load(path)
    assert t.backend == "onnx" and t.name == "BtoA" and t.module is None
    assert t.meta == load(run_dir, "BtoA").meta
    diff = np.abs(t(photo).astype(int) - load(run_dir, "BtoA")(photo).astype(int))
    assert diff.max() <= 1
    with pytest.raises(TranslateError, match="is an ONNX model"):
        load(path, backend="torch")


# --- the meta contract: ranges, scale, channels -----------------------------------------------
class _NearestUp(nn.Module):
    """A stand-in super-resolution net: [0, 1] in, ×2 nearest, [-1, 1] out."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest") * 2 - 1


class _Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _translator(net: nn.Module, **meta) -> Translator:
    base = {"input": "image", "in_channels": 3, "out_channels": 3, "in_range": [-1.0, 1.0],
            "out_range": [-1.0, 1.0], "size_multiple": 1, "scale": 1}
    return Translator("G", {**base, **meta}, TorchRunner(net, "cpu"))


def test_super_resolution_meta_scale_and_two_ranges(photo):
    t = _translator(_NearestUp(), in_range=[0.0, 1.0], out_range=[-1.0, 1.0], scale=2)
    expected = photo.repeat(2, 0).repeat(2, 1)
    assert np.array_equal(t(photo), expected)
    assert np.array_equal(t(photo, tile=16, overlap=4), expected)  # tiles honour the scale too
    assert t(Image.fromarray(photo)).size == (102, 74)


def test_unit_range_identity_and_grayscale(photo):
    same = _translator(_Identity(), in_range=[0.0, 1.0], out_range=[0.0, 1.0], size_multiple=16)
    assert np.array_equal(same(photo), photo)  # padded to 48×64 and cropped back exactly
    gray = _translator(_Identity(), in_channels=1, out_channels=1)
    out = gray(Image.fromarray(photo))
    assert out.mode == "L" and out.size == (51, 37)
    assert np.array_equal(np.asarray(out), np.asarray(Image.fromarray(photo).convert("L")))


def test_noise_translator_refuses_images():
    t = Translator("G", {"input": "noise", "z_dim": 4, "num_classes": 0, "out_channels": 3, "out_range": [-1, 1]},
                   TorchRunner(nn.Sequential(nn.Linear(4, 12), nn.Unflatten(1, (3, 2, 2))), "cpu"))
    assert t.generate(np.zeros((2, 4), np.float32)).shape == (2, 2, 2, 3)
    with pytest.raises(TranslateError, match="translate sample"):
        t(np.zeros((4, 4, 3), np.uint8))


def test_run_from_plugin_file_needs_the_plugin_named_by_the_user(run_dir, tmp_path, photo):
    """A run whose variant came from a plugin file: its config.yaml names the file, but loading
    never imports it — the user passes it (--plugin / plugins=), else one line says how."""
    plugin = tmp_path / "my_cycle.py"
    plugin.write_text(
        "from translate.variant import register_variant\n"
        "from translate.plugins.cyclegan import CycleGAN\n"
        "@register_variant\n"
        "class MyCycle(CycleGAN):\n"
        "    name = 'mycycle_translator_test'\n"
    )
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    state = torch.load(_checkpoint(run_dir), weights_only=True)
    state["variant"] = "mycycle_translator_test"
    torch.save(state, run / "checkpoints" / "step_00000002.pt")
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**saved, "variant": state["variant"], "plugin": "file my_cycle.py"}))
    with pytest.raises(TranslateError, match=r"from the plugin file my_cycle.py, .*--plugin path/to/my_cycle.py"):
        load(run)
    t = load(run, plugins=[str(plugin)])
    assert np.array_equal(t(photo), load(run_dir)(photo))
