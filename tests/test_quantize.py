"""int8 export: the recipe's graph (quantized convolutions, fp32 norms and skips), its metadata,
the measured agreement with fp32, and conversion with the int8 file like any other model."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

import translate
from translate.errors import ConfigError
from translate.inference.export import export_onnx
from translate.inference.quantize import Recipe, int8_kernels
from translate.nets import build_net

from conftest import write_images


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("q") / "g.pth"
    torch.save(build_net("resnet", ngf=8, n_blocks=2).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    write_images(root, 6, size=40)
    return root


def test_int8_graph_metadata_and_agreement(weights, photos, tmp_path, monkeypatch):
    from translate.inference import quantize as Q

    monkeypatch.setattr(Q, "AUTO_FLOOR", 1000.0)  # all-int8 never good enough: the last conv stays fp32
    out = tmp_path / "g.int8.onnx"
    result = export_onnx(weights, out, exporter="torchscript", quantize="int8", calibrate=photos, calibrate_count=4)
    q = result.quality  # the default recipe: percentile calibration, "auto" keeping the last conv fp32
    assert set(q) == {"psnr_vs_fp32", "psnr_vs_fp32_min", "speedup_vs_fp32", "images_measured", "scored_on"}
    assert q["images_measured"] == 2 and q["scored_on"] == "held-out images"  # 6 photos: 4 calibrate, 2 judge
    assert q["psnr_vs_fp32"] > q["psnr_vs_fp32_min"] > 20 and q["speedup_vs_fp32"] > 0
    proto = onnx.load(str(out))
    spec = json.loads({p.key: p.value for p in proto.metadata_props}["translate"])
    info = spec["quantization"]
    assert info["dtype"] == "int8" and info["format"] == "QDQ" and info["calibration"]["images"] == 4
    assert info["calibration"] == {"method": "percentile", "percentile": 99.999, "images": 4,
                                   "ops": ["Conv", "LeakyRelu", "DepthToSpace"], "keep_fp32": ["auto"],
                                   "subpixel": False, "weights": "int8", "reduce_range": True,
                                   "equalize": True}
    assert info["weights"] == "int8 per-channel symmetric, 7-bit"
    assert info["judged_on"]["int8_kernels"] in ("vnni", "avx2") or not info["judged_on"]["cpu_flags"]
    assert info["calibrated_on"] == str(photos) and info["auto"].endswith("(< 1000 dB): the last convolution stays fp32")
    assert result.notes == [f"int8 recipe: {info['auto']}"]
    assert len(info["kept_fp32"]) == 3 and info["psnr_vs_fp32"] == q["psnr_vs_fp32"]
    ops = {n.op_type for n in proto.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "InstanceNormalization"} <= ops
    kernels = int8_kernels(str(out))
    convs = sum(1 for n in proto.graph.node if n.op_type == "Conv")
    assert kernels["QLinearConv"] == convs - 1 and kernels["Conv"] == 1  # all but the kept last conv run in int8
    assert kernels["InstanceNormalization"] > 0 and "QLinearAdd" not in kernels  # norms and skips stay fp32
    # convert treats it like any other ONNX model
    t = translate.load(out)
    img = np.asarray(Image.open(next(photos.iterdir())))
    y, ref = t(img), translate.load(weights)(img)
    assert y.shape == ref.shape and np.abs(y.astype(int) - ref.astype(int)).mean() < 8


def test_calibration_and_held_out_images_never_overlap(photos):
    from translate.inference.quantize import calibration_images
    from translate.meta import TranslatorMeta

    meta = TranslatorMeta.image()
    calib, held = calibration_images(photos, meta, 3, held_out=8)
    assert len(calib) == 3 and len(held) == 3
    assert not any(np.array_equal(a, b) for a in calib for b in held)
    lo, hi = meta.in_range
    assert all(x.dtype == np.float32 and x.shape[0] == 3 and lo <= x.min() and x.max() <= hi for x in calib)
    assert calibration_images(photos, meta, 6, held_out=8)[1] == []  # no others: export scores on the calibration set


def _kind(model: bytes) -> str:
    """Which of quantize_judged's candidates an int8 graph is."""
    ops = {n.op_type for n in onnx.load_from_string(model).graph.node}
    return "subpixel" if "ConvTranspose" not in ops else "kept" if int8_kernels(model)["Conv"] > 0 else "all"


def test_auto_ships_every_convolution_in_int8_only_when_that_keeps_the_floor_and_is_faster(weights, photos, tmp_path,
                                                                                            monkeypatch):
    from translate.inference import quantize as Q

    real = Q.agreement
    fake_speed = {}

    def agreement(fp32, int8s, images, meta, repeats=3):  # the measured PSNR, a chosen speed-up
        scores = real(fp32, int8s, images, meta, repeats=1)
        return [{**s, "speedup_vs_fp32": fake_speed[_kind(m)]} for s, m in zip(scores, int8s)]

    monkeypatch.setattr(Q, "agreement", agreement)
    monkeypatch.setattr(Q, "AUTO_FLOOR", -100.0)  # any agreement keeps the floor
    kernels, infos = {}, {}
    for all_int8, kept, sub in ((3.0, 2.0, 2.0), (2.0, 3.0, 3.1), (2.0, 3.0, 3.3)):
        fake_speed.update(all=all_int8, kept=kept, subpixel=sub)
        out = tmp_path / f"a{all_int8}-{sub}.int8.onnx"
        result = export_onnx(weights, out, exporter="torchscript", quantize="int8", calibrate=photos, calibrate_count=3)
        proto = onnx.load(str(out))
        info = infos[sub] = json.loads({p.key: p.value for p in proto.metadata_props}["translate"])["quantization"]
        kernels[sub] = (int8_kernels(str(out))["Conv"], sum(n.op_type == "ConvTranspose" for n in proto.graph.node))
        assert result.quality["speedup_vs_fp32"] == max(all_int8, kept, sub if sub >= 1.05 * kept else 0)
        assert info["auto"].startswith(f"every convolution in int8: {result.quality['psnr_vs_fp32']:.1f} dB"
                                       if all_int8 > kept else "every convolution in int8: ")
        assert info["calibration"]["subpixel"] is (sub >= 1.05 * max(all_int8, kept))
    # faster all-int8 shipped (no conv left in fp32, the ConvTranspose as it was); slower one not: the last
    # conv stays fp32; the sub-pixel form only when 1.05× that one: its ConvTranspose gone, last conv fp32
    assert kernels == {2.0: (0, 2), 3.1: (1, 2), 3.3: (1, 0)}
    assert infos[2.0]["auto"].endswith("(not 1.05× the 3.00× of ConvTranspose in fp32): every convolution int8")
    assert "(not 1.05× the 3.00× of the last conv in fp32)" in infos[3.1]["auto"]
    assert infos[3.1]["auto"].endswith("(not 1.05× the 3.00× of ConvTranspose in fp32): the last convolution stays fp32")
    assert infos[3.3]["auto"].endswith(", 3.30×: ConvTranspose as sub-pixel conv, the last convolution fp32")
    with pytest.raises(ConfigError, match="quantize_judged"):
        Q.quantize(b"", [np.zeros((3, 8, 8), np.float32)], Recipe())


def test_minmax_and_no_kept_convolution_on_request(weights, photos, tmp_path):
    out = tmp_path / "m.int8.onnx"
    export_onnx(weights, out, exporter="torchscript", quantize="int8", calibrate=photos, calibrate_count=3,
                recipe=Recipe(method="minmax", keep_fp32=()))
    kernels = int8_kernels(str(out))
    assert kernels["Conv"] == 0 and kernels["QLinearConv"] > 0


@pytest.mark.parametrize("k,stride,pad,extra", [(3, 2, 1, 1), (4, 2, 1, 0), (6, 1, 1, 0)])
def test_subpixel_rewrite_of_convtranspose_is_exact(k, stride, pad, extra):
    import io

    import onnxruntime as ort

    from translate.inference.int8_graph import convtranspose_to_subpixel

    torch.manual_seed(0)
    layer = torch.nn.ConvTranspose2d(5, 7, k, stride, pad, output_padding=extra)
    x = torch.randn(2, 5, 9, 11)
    buf = io.BytesIO()
    torch.onnx.export(layer, x, buf, input_names=["image"], dynamo=False, opset_version=18)
    rewritten = convtranspose_to_subpixel(onnx.load_from_string(buf.getvalue()))
    ops = [n.op_type for n in rewritten.graph.node]
    # CycleGAN's k3 s2 p1 op1 and DiscoGAN's k4 s2 p1 double the size: rewritten; stride 1 is left alone
    assert ops == (["Conv", "DepthToSpace"] if stride == 2 else ["ConvTranspose"])
    run = lambda m: ort.InferenceSession(m, providers=["CPUExecutionProvider"]).run(None, {"image": x.numpy()})[0]  # noqa: E731
    a, b = run(buf.getvalue()), run(rewritten.SerializeToString())
    assert a.shape == b.shape and np.abs(a - b).max() < 1e-5


def test_int8_needs_photos_and_an_image_translator(weights, tmp_path):
    with pytest.raises(ConfigError, match="--calibrate FOLDER"):
        export_onnx(weights, tmp_path / "x.onnx", exporter="torchscript", quantize="int8")
    with pytest.raises(ConfigError, match="use int8"):
        export_onnx(weights, tmp_path / "x.onnx", exporter="torchscript", quantize="int4")
    with pytest.raises(ConfigError, match="unknown calibration"):
        from translate.inference.quantize import quantize

        quantize(b"", [np.zeros((3, 8, 8), np.float32)], Recipe(method="magic"))


def test_cli_prints_speed_and_agreement(weights, photos, tmp_path, cli):
    code, out = cli("export", str(weights), "--quantize", "int8", "--calibrate", str(photos), "--calibrate-count", "2",
                    "--exporter", "torchscript", "-o", str(tmp_path / "c.int8.onnx"))
    assert code == 0, out
    assert "int8 vs fp32 onnxruntime on 4 held-out images" in out and "× faster, PSNR" in out


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory) -> Path:
    """What a photo folder looks like: mixed sizes and orientations, grayscale, RGBA, CMYK, 16-bit,
    a text file, a broken PNG, an empty JPEG."""
    root = tmp_path_factory.mktemp("real")
    rng = np.random.default_rng(1)
    pic = lambda h, w: rng.integers(0, 256, (h, w, 3), dtype=np.uint8)  # noqa: E731
    Image.fromarray(pic(36, 52)).save(root / "landscape.png")
    Image.fromarray(pic(60, 28)).save(root / "portrait.jpg")
    Image.fromarray(pic(44, 44)).convert("L").save(root / "gray.png")
    Image.fromarray(pic(30, 40)).convert("RGBA").save(root / "alpha.png")
    Image.fromarray(pic(48, 32)).convert("CMYK").save(root / "print.jpg")
    Image.fromarray(pic(40, 40)[..., 0].astype(np.uint16) * 257).save(root / "deep.png")
    (root / "sub").mkdir()
    Image.fromarray(pic(24, 72)).save(root / "sub" / "wide.webp")
    (root / "notes.txt").write_text("not a picture")
    (root / "renamed.jpg").write_text("a text file renamed")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    (root / "empty.jpg").write_bytes(b"")
    return root


def test_int8_calibrates_on_mixed_photos_and_skips_what_convert_skips(weights, real_folder):
    from translate.inference.quantize import calibration_images
    from translate.meta import TranslatorMeta

    meta = TranslatorMeta.image(size_multiple=4)
    skipped = []
    calib, held = calibration_images(real_folder, meta, 4, held_out=8, skipped=skipped)
    assert {p.name: r.split(" (")[0].split(":")[0] for p, r in skipped} == {
        "notes.txt": "not an image file", "renamed.jpg": "not an image, or an unsupported image format",
        "broken.png": "truncated or corrupt", "empty.jpg": "empty file"}
    assert len(calib) == 4 and len(held) == 3  # 7 readable photos: 4 calibrate, 3 judge
    assert len({x.shape for x in calib}) == 1 and all(x.shape[0] == 3 and x.shape[1] % 4 == 0 for x in calib)
    assert len({x.shape for x in held}) > 1  # judged as convert feeds them: their own shapes (padded)
    assert all(x.shape[1] % 4 == 0 and x.shape[2] % 4 == 0 for x in held)


def test_cli_int8_on_a_real_folder_reports_skips_in_one_line_each_and_q_is_quiet(weights, real_folder, tmp_path, cli):
    args = ("export", str(weights), "--quantize", "int8", "--calibrate", str(real_folder), "--calibrate-count", "7",
            "--keep-fp32", "last", "--exporter", "torchscript")
    code, out = cli(*args, "-o", str(tmp_path / "r.int8.onnx"))
    assert code == 0, out
    assert f"skipped {real_folder / 'notes.txt'}: not an image file (unsupported extension '.txt')" in out
    assert f"skipped {real_folder / 'renamed.jpg'}: not an image, or an unsupported image format" in out
    assert f"skipped {real_folder / 'broken.png'}: truncated or corrupt" in out
    assert "on 7 calibration images (no others in the folder)" in out  # every readable photo calibrated
    assert "Collecting tensor data" not in out
    code, out = cli("-q", *args, "-o", str(tmp_path / "q.int8.onnx"))
    assert code == 0 and "skipped" not in out and "Collecting" not in out and "Finding optimal" not in out


def test_a_failure_inside_the_quantizer_is_one_line(weights, photos, tmp_path, cli, monkeypatch):
    import onnxruntime.quantization as oq

    def broken(*args, **kwargs):
        raise ValueError("setting an array element with a sequence.\nThe requested array has an inhomogeneous shape")

    monkeypatch.setattr(oq, "quantize_static", broken)
    code, out = cli("export", str(weights), "--quantize", "int8", "--calibrate", str(photos), "--keep-fp32", "last",
                    "--exporter", "torchscript", "-o", str(tmp_path / "x.int8.onnx"))
    assert code == 1 and out.strip().count("\n") == 0, out  # not a usage error: exit 1, one line
    assert out == ("error: int8 quantization failed in onnxruntime: ValueError: setting an array element with a "
                   "sequence.")


def test_int8_model_records_its_cpu_kind_and_says_once_where_it_runs_on_another(weights, photos, tmp_path, cli,
                                                                                 monkeypatch):
    from translate.inference import cpu

    monkeypatch.setattr(cpu, "int8_kind", lambda: "avx2")
    out = tmp_path / "k.int8.onnx"
    export_onnx(weights, out, exporter="torchscript", quantize="int8", calibrate=photos, calibrate_count=3,
                recipe=Recipe(keep_fp32=("last",)))
    info = json.loads({p.key: p.value for p in onnx.load(str(out)).metadata_props}["translate"])["quantization"]
    assert info["judged_on"]["int8_kernels"] == "avx2" and info["judged_on"]["cpu_flags"] == cpu.flags()
    assert translate.load(out).notes == []  # the kind it was judged on: nothing to say
    monkeypatch.setattr(cpu, "int8_kind", lambda: "vnni")
    assert len(translate.load(out).notes) == 1
    code, text = cli("convert", str(out), str(photos), str(tmp_path / "converted"))
    assert code == 0, text
    assert text.count("judged on a CPU with avx2 int8 kernels (") == 1 and "this one has vnni" in text


def test_older_int8_models_with_8bit_weights_warn_on_cpus_without_vnni(monkeypatch):
    from translate.inference import cpu
    from translate.inference.quantize import cpu_note

    old = {"dtype": "int8", "calibration": {"method": "percentile"}}  # exported before judged_on / reduce_range
    monkeypatch.setattr(cpu, "int8_kind", lambda: "vnni")
    assert cpu_note(old) is None
    monkeypatch.setattr(cpu, "int8_kind", lambda: "avx2")
    assert "can saturate here" in cpu_note(old)
    assert cpu_note({**old, "judged_on": {"int8_kernels": "avx2"}}) is None


@pytest.mark.parametrize("transposed", [False, True])
def test_equalizing_channels_before_instancenorm_is_exact_and_helps_the_uint8_output(transposed):
    import io

    import onnxruntime as ort

    from translate.inference import int8_graph
    from translate.inference import quantize as Q

    torch.manual_seed(0)
    conv = (torch.nn.ConvTranspose2d(4, 6, 3, 2, 1, output_padding=1) if transposed else torch.nn.Conv2d(4, 6, 3, padding=1))
    with torch.no_grad():  # channel c spans ~10^-c/2 of channel 0's range
        scale = 10.0 ** (-torch.arange(6) / 2)
        conv.weight.mul_(scale.view(1, -1, 1, 1) if transposed else scale.view(-1, 1, 1, 1))
        conv.bias.zero_()
    net = torch.nn.Sequential(conv, torch.nn.InstanceNorm2d(6), torch.nn.ReLU(), torch.nn.Conv2d(6, 3, 1))
    x = torch.rand(1, 4, 16, 16) * 2 - 1
    buf = io.BytesIO()
    torch.onnx.export(net.eval(), x, buf, input_names=["image"], dynamo=False, opset_version=18,
                      dynamic_axes={"image": {2: "h", 3: "w"}})
    images = [np.random.default_rng(i).uniform(-1, 1, (4, 16, 16)).astype(np.float32) for i in range(4)]
    model, changed = int8_graph.equalize_before_instancenorm(onnx.load_from_string(buf.getvalue()), images)
    assert changed == 1
    w = next(onnx.numpy_helper.to_array(i) for i in model.graph.initializer if i.dims == list(conv.weight.shape))
    per_channel = np.abs(w).sum(axis=(0, 2, 3) if transposed else (1, 2, 3))
    assert per_channel.max() / per_channel.min() < 8  # was 10^2.5 ≈ 316: now up to the factor cap of 64
    # channels too quiet for IN's eps to ignore the factor are divided back in fp32 before IN
    ops = [n.op_type for n in model.graph.node if n.op_type != "Constant"]
    assert ops[:3] == [conv.__class__.__name__.replace("2d", ""), "Mul", "InstanceNormalization"]
    run = lambda m, im: ort.InferenceSession(m, providers=["CPUExecutionProvider"]).run(None, {"image": im[None]})[0]  # noqa: E731
    held = np.random.default_rng(9).uniform(-1, 1, (4, 12, 20)).astype(np.float32)
    before, after = run(buf.getvalue(), held), run(model.SerializeToString(), held)
    assert np.abs(before - after).max() < 1e-4 * np.abs(before).max()  # the same function
    # and through int8 the equalized graph keeps far more of it (a ConvTranspose runs in int8 as subpixel)
    score = {}
    for eq in (False, True):
        recipe = Recipe(method="minmax", keep_fp32=(), equalize=eq, subpixel=transposed)
        q, info = Q.quantize(buf.getvalue(), images, recipe)
        assert info["equalized_convs"] == (1 if eq else 0)
        score[eq] = Q.psnr(run(q, held), before, float(np.ptp(before)))
    assert score[True] > score[False] + 6, score
