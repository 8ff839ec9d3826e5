"""The exact fp32 speed rewrites of exported generator graphs: same outputs, applied only where
the conditions they need hold, and kept fp32 together with a kept convolution under int8."""
from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from translate.inference.rewrites import conv_on_half_resolution, faster
from translate.nets import build_net


def _onnx(module: torch.nn.Module, x: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    torch.onnx.export(module.eval(), x, buf, input_names=["image"], output_names=["out"], dynamo=False, opset_version=18,
                      dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "out": {0: "n", 2: "h", 3: "w"}})
    return buf.getvalue()


def _run(model: bytes, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]


@pytest.mark.parametrize("k,pad", [(3, 1), (7, 0), (7, 3), (9, 4)])
def test_half_resolution_conv_gives_the_same_values(k, pad):
    torch.manual_seed(0)
    layer = torch.nn.Conv2d(5, 3, k, padding=pad)
    x = torch.randn(2, 5, 18, 22)
    model = _onnx(layer, x)
    name = next(n.name for n in onnx.load_from_string(model).graph.node if n.op_type == "Conv")
    rewritten = conv_on_half_resolution(onnx.load_from_string(model), name)
    ops = [n.op_type for n in rewritten.graph.node]
    assert ops == (["Pad"] if pad else []) + ["SpaceToDepth", "Conv", "DepthToSpace"]
    w = next(i for i in rewritten.graph.initializer if i.name.endswith("_half_w"))
    assert list(w.dims) == [12, 20, k // 2 + 1, k // 2 + 1]  # 4× the channels, about half the kernel
    a, b = _run(model, x.numpy()), _run(rewritten.SerializeToString(), x.numpy())
    assert a.shape == b.shape and np.abs(a - b).max() < 1e-5


def test_generator_export_paints_on_the_half_grid_and_agrees():
    torch.manual_seed(1)
    net = build_net("resnet", ngf=8, n_blocks=2)
    model = _onnx(net, torch.rand(1, 3, 32, 32) * 2 - 1)
    new, notes = faster(model, in_channels=3, size_multiple=4)
    assert len(notes) == 1 and "7×7" in notes[0]  # only the 64→3 picture-painting conv is narrow
    ops = [n.op_type for n in onnx.load_from_string(new).graph.node]
    assert ops.count("SpaceToDepth") == 1 and ops[-2:] == ["DepthToSpace", "Tanh"]
    for shape in [(1, 3, 16, 16), (2, 3, 44, 28), (1, 3, 60, 100)]:  # any multiple of the size multiple
        x = (np.random.default_rng(0).random(shape, np.float32) * 2 - 1)
        assert np.abs(_run(model, x) - _run(new, x)).max() < 1e-5


def test_export_records_the_rewrite_in_the_metadata(tmp_path):
    import json

    from translate.inference.export import export_onnx

    torch.manual_seed(4)
    weights = tmp_path / "g.pth"
    torch.save(build_net("resnet", ngf=8, n_blocks=2).state_dict(), weights)
    result = export_onnx(weights, tmp_path / "g.onnx", exporter="torchscript")
    assert max(result.parity.values()) <= 1e-4 and result.notes == []  # checked against torch, nothing to warn about
    proto = onnx.load(str(tmp_path / "g.onnx"))
    spec = json.loads({p.key: p.value for p in proto.metadata_props}["translate"])
    assert len(spec["rewrites"]) == 1 and "half-resolution" in spec["rewrites"][0]
    assert "SpaceToDepth" in {n.op_type for n in proto.graph.node}


def test_left_alone_when_the_input_can_be_odd_or_the_conv_is_wide():
    torch.manual_seed(2)
    narrow = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 3, 3, padding=1))
    model = _onnx(narrow, torch.rand(1, 3, 16, 16))
    assert faster(model, 3, size_multiple=1) == (model, [])  # an odd-sized picture would not split in 2×2 blocks
    assert faster(model, 3, size_multiple=2)[1]  # even sizes only: rewritten
    wide = torch.nn.Conv2d(3, 16, 3, padding=1)  # 16 outputs: nothing to gain
    model = _onnx(wide, torch.rand(1, 3, 16, 16))
    assert faster(model, 3, size_multiple=2) == (model, [])


def test_int8_keeps_the_half_grid_layout_ops_of_the_kept_conv_in_fp32(tmp_path):
    from conftest import write_images
    from translate.inference.quantize import Recipe, calibration_images, quantize
    from translate.meta import TranslatorMeta

    torch.manual_seed(3)
    model, _ = faster(_onnx(build_net("resnet", ngf=8, n_blocks=2), torch.rand(1, 3, 32, 32)), 3, 4)
    write_images(tmp_path, 3, size=32)
    calib, _ = calibration_images(tmp_path, TranslatorMeta.image(), 3)
    int8, info = quantize(model, calib, Recipe(keep_fp32=("last",)))
    proto = onnx.load_from_string(int8)
    half = next(n for n in proto.graph.node if n.name.endswith("_half"))
    assert info["kept_fp32"] == sorted([half.name, half.name.replace("_half", "_d2s"), half.name.replace("_half", "_s2d")])
    producer = {o: n.op_type for n in proto.graph.node for o in n.output}
    consumers = [n.op_type for n in proto.graph.node if half.output[0] in n.input]
    assert consumers == ["DepthToSpace"] and producer[half.input[0]] == "SpaceToDepth"  # no Q/DQ in between
    d2s = next(n for n in proto.graph.node if n.name.endswith("_d2s"))
    assert [n.op_type for n in proto.graph.node if d2s.output[0] in n.input] == ["Tanh"]


@pytest.mark.parametrize("act", [torch.nn.PReLU(), torch.nn.LeakyReLU(0.2), torch.nn.ReLU()])
def test_super_resolution_tail_never_builds_the_full_grid(act):
    torch.manual_seed(5)
    tail = torch.nn.Sequential(torch.nn.Conv2d(8, 32, 3, padding=1), torch.nn.PixelShuffle(2), act,
                               torch.nn.Conv2d(8, 3, 9, padding=4), torch.nn.Tanh())
    model = _onnx(tail, torch.rand(1, 8, 12, 12))
    new, notes = faster(model, in_channels=8, size_multiple=1)
    assert notes[1] == "1 pixel shuffle round trip(s) removed"
    ops = [n.op_type for n in onnx.load_from_string(new).graph.node]
    # conv → activation → zero pad → the 5×5 conv with 4× the channels → one shuffle, at the very end
    assert ops[2:] == ["Pad", "Conv", "DepthToSpace", "Tanh"] and "SpaceToDepth" not in ops
    for shape in [(1, 8, 12, 12), (2, 8, 7, 9)]:
        x = np.random.default_rng(1).standard_normal(shape, np.float32)
        a, b = _run(model, x), _run(new, x)
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-5
