"""Device, precision and memory-layout resolution: `auto|cpu|cuda[:i]|mps`, `fp32|bf16|fp16`,
channels_last `auto|true|false`."""
from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator

import torch

from translate.errors import ConfigError

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(spec: str = "auto") -> torch.device:
    """'auto' picks CUDA (the local rank's GPU under torchrun), then MPS, then CPU."""
    spec = (spec or "auto").lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(spec)
    except RuntimeError:
        raise ConfigError(f"unknown device '{spec}'; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{spec}' requested but CUDA is not available here; use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(f"device '{spec}' does not exist: this machine has {torch.cuda.device_count()} GPU(s)")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device 'mps' requested but MPS is not available here; use --device cpu")
    return dev


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    if name not in PRECISIONS:
        raise ConfigError(f"unknown precision '{name}'; use one of {', '.join(PRECISIONS)}")
    dtype = PRECISIONS[name]
    if dtype is torch.float16 and device.type == "cpu":
        raise ConfigError("fp16 autocast is for GPUs; on CPU use --precision bf16 (or fp32)")
    if dtype is torch.bfloat16 and device.type == "cpu" and not cpu_has_fast_bf16():
        warnings.warn(
            f"bf16 on this CPU ({torch.backends.cpu.get_cpu_capability()}, no AVX512-BF16/AMX) runs in "
            "emulation and is slower than fp32", stacklevel=2,
        )
    if dtype is torch.bfloat16 and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError("this GPU has no bf16 support; use --precision fp16 (or fp32)")
    return dtype


def cpu_has_fast_bf16() -> bool:
    """Native bf16 matrix instructions (x86 AVX512-BF16/AMX, Arm BF16): without them CPU bf16
    is emulated. Unknown (no /proc/cpuinfo): assume yes, so nothing is claimed wrongly."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = fh.read()
    except OSError:
        return True
    return any(f in flags for f in ("avx512_bf16", "amx_bf16", " bf16"))


_ON, _OFF = ("true", "on", "yes", "1"), ("false", "off", "no", "0")


def resolve_channels_last(value: str | bool, device: torch.device, dtype: torch.dtype = torch.float32) -> bool:
    """`auto` = on for CUDA (tensor-core convolutions want NHWC) and for bf16 on CPU (oneDNN's
    bf16 convolutions are NHWC-native: NCHW bf16 measured several times slower); off for fp32
    on CPU, where benchmarks/train_step.py measured CycleGAN's step no faster in channels_last;
    off on MPS, where support is partial."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "auto":
        return device.type == "cuda" or (device.type == "cpu" and dtype is torch.bfloat16)
    if text in _ON:
        return True
    if text in _OFF:
        return False
    raise ConfigError(f"channels_last must be auto, true or false, not '{value}'")


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Mixed precision for the forward passes; a no-op in fp32."""
    if dtype is torch.float32:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield
