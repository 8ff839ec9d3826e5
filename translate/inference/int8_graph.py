"""The fp32 graph rewrites that prepare an image translator for int8 (translate/inference/quantize.py
runs them before onnxruntime's quantizer, and tidies its output with the last one): exact
rewrites that let more ops run in int8 or narrow the ranges that are quantized per tensor, and
the clean-up that lets fp32 consumers read fp32 tensors."""
from __future__ import annotations

import collections
from typing import Any

import numpy as np

from translate.inference.rewrites import replace_node


def prelu_to_leakyrelu(model: Any) -> Any:
    """PRelu with one slope is LeakyRelu(alpha): the same values, and an int8 kernel exists for it."""
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    for i, node in enumerate(list(model.graph.node)):
        if node.op_type == "PRelu" and node.input[1] in inits:
            slope = numpy_helper.to_array(inits[node.input[1]])
            if slope.size == 1:
                model.graph.node.remove(node)
                model.graph.node.insert(i, helper.make_node("LeakyRelu", [node.input[0]], list(node.output),
                                                            alpha=float(slope.ravel()[0]), name=node.name))
    return model


def convtranspose_to_subpixel(model: Any) -> Any:
    """A stride-s ConvTranspose whose output is s× its input is a Conv producing s²·C channels
    (each output phase's taps, zeros elsewhere) followed by DepthToSpace: the same values, and
    the Conv then runs as QLinearConv (onnxruntime's CPU provider has no int8 ConvTranspose)."""
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    for index, node in enumerate(list(model.graph.node)):
        if node.op_type != "ConvTranspose" or node.input[1] not in inits:
            continue
        at = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        w = numpy_helper.to_array(inits[node.input[1]])  # (C_in, C_out, k, k)
        k = w.shape[2]
        s = list(at.get("strides", [1, 1]))
        pads = list(at.get("pads", [0, 0, 0, 0]))
        if (at.get("group", 1) != 1 or set(at.get("dilations", [1, 1])) != {1} or w.shape[2] != w.shape[3]
                or len(set(s)) != 1 or s[0] < 2 or len(set(pads)) != 1 or "output_shape" in at or at.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")):
            continue
        s, pad, extra = s[0], pads[0], list(at.get("output_padding", [0, 0]))
        if len(set(extra)) != 1 or k - 2 * pad + extra[0] != s:  # output not exactly s× the input
            continue
        taps = [(a, kh, (a + pad - kh) // s) for a in range(s) for kh in range(k) if (a + pad - kh) % s == 0]
        lo, hi = min(t[2] for t in taps), max(t[2] for t in taps)
        size, top = hi - lo + 1, -lo
        cin, cout = w.shape[:2]
        kernel = np.zeros((s * s * cout, cin, size, size), w.dtype)
        for a, kh, dh in taps:
            for b, kw, dw in taps:
                kernel[(a * s + b) * cout:(a * s + b + 1) * cout, :, dh + top, dw + top] = w[:, :, kh, kw].T
        name = node.name or node.output[0]
        model.graph.initializer.append(numpy_helper.from_array(kernel, f"{name}_subpixel_w"))
        inputs = [node.input[0], f"{name}_subpixel_w"]
        if len(node.input) > 2 and node.input[2]:
            bias = numpy_helper.to_array(inits[node.input[2]])
            model.graph.initializer.append(numpy_helper.from_array(np.tile(bias, s * s), f"{name}_subpixel_b"))
            inputs.append(f"{name}_subpixel_b")
        bottom = size - 1 - top
        conv = helper.make_node("Conv", inputs, [f"{name}_subpixel"], name=f"{name}_subpixel",
                                kernel_shape=[size, size], pads=[top, top, bottom, bottom])
        shuffle = helper.make_node("DepthToSpace", [f"{name}_subpixel"], list(node.output), name=f"{name}_shuffle",
                                   blocksize=s, mode="DCR")
        replace_node(model, node, [conv, shuffle])
    return model


def _convs_before_instancenorm(model: Any) -> list[tuple[Any, list[Any]]]:
    """(node, its InstanceNorm readers) for each Conv/ConvTranspose with initializer weights whose
    output only InstanceNorm reads: IN removes per-channel offset and scale from it."""
    inits = {i.name for i in model.graph.initializer}
    consumers = collections.defaultdict(list)
    for node in model.graph.node:
        for t in node.input:
            consumers[t].append(node)
    return [(node, consumers[node.output[0]]) for node in model.graph.node
            if node.op_type in ("Conv", "ConvTranspose") and node.input[1] in inits and consumers[node.output[0]]
            and all(u.op_type == "InstanceNormalization" for u in consumers[node.output[0]])]


def zero_bias_before_instancenorm(model: Any) -> Any:
    """IN(x + b) == IN(x) per channel: the bias of a (transposed) conv that feeds only InstanceNorm
    changes nothing but widens the range its output must be quantized over."""
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    for node, _ in _convs_before_instancenorm(model):
        if len(node.input) == 3 and node.input[2] in inits:
            bias = inits[node.input[2]]
            bias.CopyFrom(numpy_helper.from_array(np.zeros_like(numpy_helper.to_array(bias)), bias.name))
    return model


EQUALIZE_MAX = 64.0  # the largest factor a channel is scaled by
EQUALIZE_DRIFT = 1e-4  # the largest relative change of a normalised value that IN's eps may make


def equalize_before_instancenorm(model: Any, images: list[np.ndarray]) -> tuple[Any, int]:
    """Scale each output channel of a (transposed) convolution that feeds only InstanceNorm so
    that all its channels span the same range on the calibration images. The conv's output is
    quantized per tensor, so a channel 20× narrower than the widest gets 1/20 of the uint8 levels,
    and IN then magnifies its rounding 20×; IN(s·x) == IN(x) per channel makes the scaling free.

    Exact: IN(s·x; eps) = IN(x; eps/s²), which moves a normalised value by ~eps·(1 - 1/s²)/(2·var).
    Channels whose smallest per-image variance keeps that under EQUALIZE_DRIFT for any s are left
    to IN; the others are divided back by s in fp32 (a Mul between the quantized output and IN).
    Factors are at most EQUALIZE_MAX, never below 1. Returns (model, convolutions changed)."""
    import onnx
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    eps, targets = {}, []
    for node, norms in _convs_before_instancenorm(model):
        if next((a.i for a in node.attribute if a.name == "group"), 1) == 1:
            targets.append(node)
            eps[node.output[0]] = max(next((a.f for a in u.attribute if a.name == "epsilon"), 1e-5) for u in norms)
    if not targets or not images:
        return model, 0
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    names = [n.output[0] for n in targets]
    for name in names:
        probe.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    peak = {k: np.zeros(1) for k in names}
    least_var = {k: np.full(1, np.inf) for k in names}
    for im in images:
        for k, out in zip(names, session.run(names, {feed: im[None].astype(np.float32)})):
            flat = out.reshape(out.shape[0], out.shape[1], -1).astype(np.float64)
            peak[k] = np.maximum(peak[k], np.abs(flat).max(axis=(0, 2)))
            least_var[k] = np.minimum(least_var[k], flat.var(axis=2).min(axis=0))
    changed = 0
    for node in targets:
        k = node.output[0]
        scale = np.clip(peak[k].max() / np.maximum(peak[k], 1e-30), 1.0, EQUALIZE_MAX)
        if np.all(scale == 1.0):
            continue
        changed += 1
        weight = inits[node.input[1]]
        w = numpy_helper.to_array(weight)  # Conv: (C_out, C_in, k, k); ConvTranspose: (C_in, C_out, k, k)
        shape = (-1, 1, 1, 1) if node.op_type == "Conv" else (1, -1, 1, 1)
        weight.CopyFrom(numpy_helper.from_array((w * scale.reshape(shape)).astype(w.dtype), weight.name))
        if len(node.input) > 2 and node.input[2] in inits:
            bias = inits[node.input[2]]
            b = numpy_helper.to_array(bias)
            bias.CopyFrom(numpy_helper.from_array((b * scale).astype(b.dtype), bias.name))
        left_to_in = least_var[k] * 2 * EQUALIZE_DRIFT >= eps[k]
        if left_to_in.all():
            continue
        undo = np.where(left_to_in, 1.0, 1.0 / scale).astype(np.float32).reshape(1, -1, 1, 1)
        model.graph.initializer.append(numpy_helper.from_array(undo, f"{k}_equalized_undo"))
        node.output[0] = f"{k}_equalized"
        model.graph.node.insert(list(model.graph.node).index(node) + 1,
                                helper.make_node("Mul", [node.output[0], f"{k}_equalized_undo"], [k],
                                                 name=f"{node.name or k}_equalized_undo"))
    return model, changed


def _layout_neighbours(model: Any, kept: set[str]) -> set[str]:
    """The DepthToSpace/SpaceToDepth right before or after a kept-fp32 node stays fp32 with it
    (else its output would still be squeezed through uint8)."""
    layout = ("DepthToSpace", "SpaceToDepth")
    producer = {o: n for n in model.graph.node for o in n.output}
    out = set()
    for node in model.graph.node:
        if node.op_type in layout and node.input[0] in producer and producer[node.input[0]].name in kept:
            out.add(node.name)
        if node.name in kept and node.input[0] in producer and producer[node.input[0]].op_type in layout:
            out.add(producer[node.input[0]].name)
    return out


def float_consumers_read_float(model: Any, ops: tuple[str, ...], excluded: set[str]) -> Any:
    """The QDQ quantizer points every consumer of a quantized tensor at DQ(Q(x)); those that stay
    fp32 (skip-path adds, kept convolutions) read x again, when x exists in fp32 at run time."""
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}

    def int8(node: Any) -> bool:
        return node.op_type in ops and node.name not in excluded

    source = {}
    for node in g.node:
        q = producer.get(node.input[0]) if node.op_type == "DequantizeLinear" else None
        if q is not None and q.op_type == "QuantizeLinear":
            x = q.input[0]
            if x not in producer or not int8(producer[x]):
                source[node.output[0]] = x
    for node in g.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear") and not int8(node):
            for k, t in enumerate(node.input):
                if t in source:
                    node.input[k] = source[t]
    outputs = {o.name for o in g.output}
    while True:
        used = {t for n in g.node for t in n.input} | outputs
        dead = [n for n in g.node if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.output[0] not in used]
        if not dead:
            return model
        for n in dead:
            g.node.remove(n)
