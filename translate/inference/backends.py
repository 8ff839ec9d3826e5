"""Backends that run one generator on float32 numpy arrays: torch or onnxruntime.

A runner takes named float/int arrays ("image", or "z" and "label") and returns the
generator's float32 output. Pre/post-processing lives in the translator, in numpy, so the
ONNX path never runs torch code.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from translate.errors import ConfigError, WeightsError
from translate.files import first_line, shown


class Runner(Protocol):
    """Runs one generator: named input arrays in, float32 output array out."""

    backend: str

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray: ...


class TorchRunner:
    """A torch module in eval mode on `device`, under autocast for bf16/fp16."""

    backend = "torch"

    def __init__(self, net: Any, device: str = "auto", precision: str = "fp32") -> None:
        import torch

        from translate.device import bf16_verdict, resolve_device, resolve_precision

        self.device = resolve_device(device)
        self.dtype = resolve_precision(precision, self.device)
        self.net = net.to(self.device).eval().requires_grad_(False)
        self.accelerated = self.device.type != "cpu"
        self._torch = torch
        self.notes: list[str] = []
        if self.dtype is torch.bfloat16 and self.device.type == "cpu":
            fast, why = bf16_verdict(self.device)
            if not fast:
                self.notes.append(f"bf16 is not fast here ({why}); --precision fp32 will be faster")

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        torch = self._torch
        from translate.device import autocast

        args = [torch.from_numpy(np.ascontiguousarray(inputs[k])).to(self.device) for k in _order(inputs)]
        with torch.inference_mode(), autocast(self.device, self.dtype):
            out = self.net(*args)
        return out.float().cpu().numpy()


class OnnxRunner:
    """One output of an onnxruntime session (several runners may share a session)."""

    backend = "onnx"

    def __init__(self, session: Any, output: str) -> None:
        self.session, self.output = session, output
        self.accelerated = session.get_providers()[0] != "CPUExecutionProvider"
        self.input_names = [i.name for i in session.get_inputs()]
        self.notes: list[str] = []  # e.g. an int8 model judged on another CPU kind

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: inputs[name] for name in self.input_names}
        return np.asarray(self.session.run([self.output], feed)[0], dtype=np.float32)


class LazyRunner:
    """A runner built on first use (e.g. an ONNX export made only for the direction used)."""

    def __init__(self, backend: str, factory: Callable[[], Runner]) -> None:
        self.backend, self._factory, self._runner = backend, factory, None

    @property
    def accelerated(self) -> bool:
        if self._runner is None:
            self._runner = self._factory()
        return bool(getattr(self._runner, "accelerated", False))

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        if self._runner is None:
            self._runner = self._factory()
        return self._runner(inputs)


def onnx_session(model: str | bytes, device: str = "auto", precision: str = "fp32", threads: int = 0) -> Any:
    """An onnxruntime InferenceSession on the CPU, or CUDA when asked for and available."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ConfigError("the ONNX backend needs onnxruntime: pip install onnxruntime") from None
    if precision != "fp32":
        raise ConfigError(f"--precision {precision} is for the torch backend; ONNX models run in fp32")
    available = ort.get_available_providers()
    spec = (device or "auto").lower()
    if spec.startswith("cuda") and "CUDAExecutionProvider" not in available:
        raise ConfigError(f"device '{device}' requested but onnxruntime has no CUDA provider here; use --device cpu")
    providers = ["CPUExecutionProvider"]
    if spec.startswith("cuda") or (spec == "auto" and "CUDAExecutionProvider" in available):
        providers.insert(0, "CUDAExecutionProvider")
    options = ort.SessionOptions()
    # Memory patterns plan buffers for one input shape; photos come in many: off, a 1024×768
    # CycleGAN forward measured 1.1 GiB instead of 2.1 GiB peak and 7 % faster (256²: the same).
    options.enable_mem_pattern = False
    if threads:
        options.intra_op_num_threads = threads
    if isinstance(model, (str, Path)):
        check_external_data(Path(model))
    try:
        return ort.InferenceSession(model, options, providers=providers)
    except Exception as err:  # not an ONNX file, or an unsupported one
        name = "the exported model" if isinstance(model, bytes) else model
        raise WeightsError(f"cannot open ONNX model {name}: {first_line(err)}") from None


def check_external_data(path: Path, proto: Any = None) -> None:
    """Refuse an ONNX file whose tensors keep their data in files that are not plainly inside the
    model's folder — an absolute `location`, `..`, a symlink anywhere on the way, not a regular
    file, or a range past the file's end — before onnxruntime (some versions follow any path)
    reads them: a model must not bring the bytes of other files into its outputs."""
    if proto is None:
        import onnx

        try:
            proto = onnx.load(str(path), load_external_data=False)
        except Exception as err:
            raise WeightsError(f"cannot read ONNX file {shown(path)}: {first_line(err)}") from None
    folder = path.parent
    for tensor in _tensors(proto):
        if tensor.data_location != 1:  # TensorProto.EXTERNAL
            continue
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        why = _bad_location(folder, location, info)
        if why:
            raise WeightsError(f"{shown(path)}: tensor '{shown(tensor.name)}' keeps its data in '{shown(location)}', "
                               f"{why}: refusing to load it (external data must be regular files inside the model's folder)")


def _bad_location(folder: Path, location: str, info: dict[str, str]) -> str:
    parts = Path(location).parts
    if not location or "\x00" in location:
        return "an empty or malformed location"
    if Path(location).is_absolute() or location.startswith(("/", "\\")) or (len(location) > 1 and location[1] == ":"):
        return "an absolute path"
    if ".." in parts or ".." in location.replace("\\", "/").split("/"):
        return "a path leaving the model's folder"
    step = folder
    for part in parts:
        step = step / part
        if step.is_symlink():
            return "a symlink"
    if not step.is_file():
        return "not a file inside the model's folder"
    if step.stat().st_nlink > 1:
        return "a file with other hard links (it may be any file of this machine)"
    try:
        offset, length = int(info.get("offset", 0) or 0), int(info.get("length", 0) or 0)
    except ValueError:
        return "an unreadable offset or length"
    if offset < 0 or length < 0 or offset + length > step.stat().st_size:
        return f"a range (offset {offset}, length {length}) past the end of the file"
    return ""


def _tensors(proto: Any) -> Any:
    """Every tensor of a model: initializers, sparse ones, node attributes, subgraphs, functions."""
    graphs = [proto.graph]
    nodes = [n for f in proto.functions for n in f.node]
    while graphs:
        g = graphs.pop()
        yield from g.initializer
        for sparse in g.sparse_initializer:
            yield sparse.values
            yield sparse.indices
        nodes.extend(g.node)
        while nodes:
            node = nodes.pop()
            for attr in node.attribute:
                if attr.HasField("t"):
                    yield attr.t
                yield from attr.tensors
                if attr.HasField("sparse_tensor"):
                    yield attr.sparse_tensor.values
                if attr.HasField("g"):
                    graphs.append(attr.g)
                graphs.extend(attr.graphs)


def _order(inputs: dict[str, np.ndarray]) -> list[str]:
    """Positional order for torch modules: image, or z then label."""
    if "image" in inputs:
        return ["image"]
    return ["z", "label"] if "label" in inputs else ["z"]
