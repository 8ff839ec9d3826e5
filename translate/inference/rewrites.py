"""Exact fp32 rewrites of an exported generator graph that make onnxruntime's CPU kernels faster.

Applied to every image-translator ONNX export (fp32, and so before int8 quantization too): the
outputs stay the same up to float rounding; only the work changes. Each rewrite checks the
conditions it needs on the graph itself and leaves the graph alone otherwise.
"""
from __future__ import annotations

from typing import Any

import numpy as np

NARROW = 4  # output channels at most: the convolution that paints the picture (RGB, gray)


def faster(model: bytes, in_channels: int, size_multiple: int) -> tuple[bytes, list[str]]:
    """(the rewritten model, one note per rewrite done) of an fp32 graph with input "image"."""
    import onnx

    proto = onnx.load_from_string(model)
    notes = []
    for name, k in _narrow_convs(proto):
        if _even_input(model, name, in_channels, size_multiple):
            conv_on_half_resolution(proto, name)
            notes.append(f"{name}: {k}×{k} convolution with a narrow output run on the half-resolution grid")
    before = len(proto.graph.node)
    shuffle_round_trips(proto)
    if len(proto.graph.node) < before:
        notes.append(f"{(before - len(proto.graph.node)) // 2} pixel shuffle round trip(s) removed")
    return (proto.SerializeToString() if notes else model), notes


def _narrow_convs(model: Any) -> list[tuple[str, int]]:
    """(name, kernel size) of each stride-1 odd-kernel Conv with constant weights that narrows many
    channels to ≤ NARROW outputs."""
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    found = []
    for node in model.graph.node:
        if node.op_type != "Conv" or node.input[1] not in inits:
            continue
        shape = numpy_helper.to_array(inits[node.input[1]]).shape
        at = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if (len(shape) == 4 and shape[0] <= NARROW and shape[1] >= 2 * shape[0]
                and shape[2] == shape[3] and shape[2] % 2 == 1 and shape[2] > 1
                and at.get("group", 1) == 1 and set(at.get("strides", [1, 1])) == {1}
                and set(at.get("dilations", [1, 1])) == {1} and len(set(at.get("pads", [0, 0, 0, 0]))) == 1
                and at.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")):
            found.append((node.name, int(shape[2])))
    return found


def _even_input(model: bytes, node_name: str, in_channels: int, size_multiple: int) -> bool:
    """Whether the padded input of `node_name` has even height and width for every input size the
    translator feeds (multiples of `size_multiple`): probed at two sizes of each parity of the
    multiple — sizes are affine in the input size through convolutions and pixel shuffles."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    proto = onnx.load_from_string(model)
    node = next(n for n in proto.graph.node if n.name == node_name)
    pad = dict((a.name, helper.get_attribute_value(a)) for a in node.attribute).get("pads", [0, 0, 0, 0])[0]
    proto.graph.output.append(onnx.helper.make_tensor_value_info(node.input[0], onnx.TensorProto.FLOAT, None))
    try:
        sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        k = max(1, -(-16 // size_multiple))
        for h, w in ((k, k + 1), (k + 1, k)):
            x = np.zeros((1, in_channels, h * size_multiple, w * size_multiple), np.float32)
            shape = sess.run([node.input[0]], {"image": x})[0].shape
            if (shape[2] + 2 * pad) % 2 or (shape[3] + 2 * pad) % 2:
                return False
    except Exception:  # a graph the probe cannot run: leave it as it is
        return False
    return True


def conv_on_half_resolution(model: Any, node_name: str) -> Any:
    """A stride-1 k×k Conv (k odd) on an even-sized input is SpaceToDepth(2) → a (k//2+1)² Conv with
    4× the input and output channels on the half-resolution grid → DepthToSpace(2): the same values
    (zero padding moved into an explicit Pad). For the picture-painting last conv of a generator
    (64 → 3 channels at full resolution) the CPU kernels then work on 12 output channels instead
    of 3 and a quarter of the positions: far less padding of output-channel blocks.
    The caller makes sure the padded input is even-sized (`_even_input`)."""
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    node = next(n for n in model.graph.node if n.name == node_name)
    at = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    w = numpy_helper.to_array(inits[node.input[1]])  # (O, C, k, k)
    o, c, k = w.shape[0], w.shape[1], w.shape[2]
    pads = list(at.get("pads", [0, 0, 0, 0]))
    if (at.get("group", 1) != 1 or set(at.get("strides", [1, 1])) != {1} or set(at.get("dilations", [1, 1])) != {1}
            or w.shape[2] != w.shape[3] or k % 2 == 0 or len(set(pads)) != 1
            or at.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")):
        return model
    size = k // 2 + 1
    kernel = np.zeros((4 * o, 4 * c, size, size), w.dtype)
    for a in range(2):
        for b in range(2):
            for p in range(2):
                for q in range(2):
                    for m in range(size):
                        for n in range(size):
                            i, j = 2 * m + p - a, 2 * n + q - b
                            if 0 <= i < k and 0 <= j < k:
                                kernel[(a * 2 + b) * o:(a * 2 + b + 1) * o, (p * 2 + q) * c:(p * 2 + q + 1) * c, m, n] = w[:, :, i, j]
    name = node.name or node.output[0]
    x = node.input[0]
    new = []
    if pads[0]:
        model.graph.initializer.append(numpy_helper.from_array(np.array([0, 0, pads[0], pads[0]] * 2, np.int64), f"{name}_pads"))
        new.append(helper.make_node("Pad", [x, f"{name}_pads"], [f"{name}_padded"], name=f"{name}_pad", mode="constant"))
        x = f"{name}_padded"
    new.append(helper.make_node("SpaceToDepth", [x], [f"{name}_s2d"], name=f"{name}_s2d", blocksize=2))
    model.graph.initializer.append(numpy_helper.from_array(kernel, f"{name}_half_w"))
    inputs = [f"{name}_s2d", f"{name}_half_w"]
    if len(node.input) > 2 and node.input[2]:
        model.graph.initializer.append(numpy_helper.from_array(np.tile(numpy_helper.to_array(inits[node.input[2]]), 4), f"{name}_half_b"))
        inputs.append(f"{name}_half_b")
    new.append(helper.make_node("Conv", inputs, [f"{name}_half"], name=f"{name}_half", kernel_shape=[size, size]))
    new.append(helper.make_node("DepthToSpace", [f"{name}_half"], list(node.output), name=f"{name}_d2s", blocksize=2, mode="DCR"))
    replace_node(model, node, new)
    return model


def replace_node(model: Any, node: Any, new: list[Any]) -> None:
    """`new` (in order) where `node` stood; initializers nothing reads any more go."""
    position = list(model.graph.node).index(node)
    model.graph.node.remove(node)
    for n in reversed(new):
        model.graph.node.insert(position, n)
    used = {t for n in model.graph.node for t in n.input}
    for init in [i for i in model.graph.initializer if i.name not in used]:
        model.graph.initializer.remove(init)


def shuffle_round_trips(model: Any) -> Any:
    """DepthToSpace(2) → a scalar activation → [zero Pad of even width] → SpaceToDepth(2) is the
    activation (and half the padding) on the tensor before the shuffle, its channels in another
    order when the shuffle is torch's (CRD), which the one Conv reading it absorbs in its weights:
    the pixel-shuffle up-sampler of a super-resolution net followed by the half-resolution last
    conv never needs the full grid."""
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    readers: dict[str, int] = {}
    for n in model.graph.node:
        for t in n.input:
            readers[t] = readers.get(t, 0) + 1
    attr = lambda n: {a.name: helper.get_attribute_value(a) for a in n.attribute}  # noqa: E731
    for s2d in [n for n in model.graph.node if n.op_type == "SpaceToDepth" and attr(n).get("blocksize") == 2]:
        pad = producer.get(s2d.input[0])
        act = producer.get(pad.input[0]) if pad is not None and pad.op_type == "Pad" else pad
        if pad is act:
            pad = None
        elif (attr(pad).get("mode", b"constant") not in (b"constant", "constant") or len(pad.input) < 2
              or pad.input[1] not in inits or (len(pad.input) > 2 and pad.input[2])):
            continue
        if act is None or act.op_type not in ("Relu", "LeakyRelu", "PRelu") or readers.get(act.output[0]) != 1:
            continue
        if act.op_type == "PRelu" and (act.input[1] not in inits or numpy_helper.to_array(inits[act.input[1]]).size != 1):
            continue
        d2s = producer.get(act.input[0])
        if d2s is None or d2s.op_type != "DepthToSpace" or attr(d2s).get("blocksize") != 2 or readers.get(d2s.output[0]) != 1:
            continue
        convs = [n for n in model.graph.node if s2d.output[0] in n.input]
        crd = attr(d2s).get("mode", b"DCR") in (b"CRD", "CRD")  # torch's pixel_shuffle: channel c·4 + phase
        if crd and not (len(convs) == 1 and convs[0].op_type == "Conv" and convs[0].input[0] == s2d.output[0]
                        and convs[0].input[1] in inits and attr(convs[0]).get("group", 1) == 1):
            continue
        if pad is not None:
            pads = numpy_helper.to_array(inits[pad.input[1]])
            if readers.get(pad.output[0]) != 1 or len(pads) != 8 or pads[[0, 1, 4, 5]].any() or (pads % 2).any():
                continue
            inits[pad.input[1]].CopyFrom(numpy_helper.from_array(pads // 2, pad.input[1]))
        if crd:  # SpaceToDepth yields channel phase·C + c: the conv reads them in the shuffle's order instead
            w_init = inits[convs[0].input[1]]
            w = numpy_helper.to_array(w_init)
            o, c4 = w.shape[:2]
            w = w.reshape(o, 4, c4 // 4, *w.shape[2:]).transpose(0, 2, 1, 3, 4).reshape(w.shape)
            w_init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(w), w_init.name))
        act.input[0] = d2s.input[0]  # the activation reads the un-shuffled tensor
        stale = {act.output[0], pad.output[0] if pad is not None else act.output[0]}
        for info in [v for v in model.graph.value_info if v.name in stale]:
            model.graph.value_info.remove(info)
        last = pad or act
        for n in model.graph.node:
            n.input[:] = [last.output[0] if t == s2d.output[0] else t for t in n.input]
        model.graph.node.remove(s2d)
        model.graph.node.remove(d2s)
    return model
