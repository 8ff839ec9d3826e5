"""Device, precision and memory-layout resolution: `auto|cpu|cuda[:i]|mps`, `fp32|bf16|fp16|auto`,
channels_last `auto|true|false` — for training and inference alike (one answer to "is bf16 fast here?")."""
from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterator
from typing import Any

import torch

from translate.errors import ConfigError
from translate.files import shown

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
    except (RuntimeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unknown device '{shown(spec, 80)}'; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type in ("cpu", "mps") and dev.index not in (None, 0):
        raise ConfigError(f"device '{shown(spec, 80)}' does not exist: use {dev.type} (it takes no index)")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{spec}' requested but CUDA is not available here; use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(f"device '{spec}' does not exist: this machine has {torch.cuda.device_count()} GPU(s)")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device 'mps' requested but MPS is not available here; use --device cpu")
    return dev


PRECISION_CHOICES = ("fp32", "bf16", "fp16", "auto")


def resolve_precision(name: str, device: torch.device, warn: bool = True) -> torch.dtype:
    """fp32 | bf16 | fp16 | auto. `auto` picks bf16 where it is native and fast (see `bf16_verdict`),
    fp32 elsewhere, and logs what it picked and why."""
    if name == "auto":
        fast, why = bf16_verdict(device)
        dtype = torch.bfloat16 if fast else torch.float32
        if warn:
            import logging

            logging.getLogger("translate").info(f"precision auto: {'bf16' if fast else 'fp32'} ({why})")
        return dtype
    if name not in PRECISIONS:
        raise ConfigError(f"unknown precision '{name}'; use one of {', '.join(PRECISION_CHOICES)}")
    dtype = PRECISIONS[name]
    if dtype is torch.float16 and device.type == "cpu":
        raise ConfigError("fp16 autocast is for GPUs; on CPU use --precision bf16 (or fp32)")
    if dtype is torch.bfloat16 and device.type == "cpu" and not cpu_has_fast_bf16() and warn:
        warnings.warn(
            f"bf16 on this CPU ({torch.backends.cpu.get_cpu_capability()}, no AVX512-BF16/AMX) runs in "
            "emulation and is slower than fp32", stacklevel=2,
        )
    if dtype is torch.bfloat16 and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError("this GPU has no bf16 support; use --precision fp16 (or fp32)")
    return dtype


def bf16_verdict(device: torch.device) -> tuple[bool, str]:
    """(whether bf16 is native and faster than fp32 here, why). The one place this is decided:
    CUDA asks the GPU; a CPU needs AVX512-BF16/AMX (or Arm BF16) *and* a measured bf16
    convolution faster than fp32 (`cpu_bf16_speedup`, probed once per process)."""
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        return ok, f"{torch.cuda.get_device_name(device)} {'supports' if ok else 'lacks'} bf16"
    if device.type != "cpu":
        return False, f"bf16 autocast is not used on {device.type}"
    if not cpu_has_fast_bf16():
        return False, "this CPU has no AVX512-BF16/AMX: bf16 would run in emulation"
    speedup = cpu_bf16_speedup()
    if speedup < 1.05:
        return False, f"native bf16, but a probe convolution ran {speedup:.2f}× the fp32 speed"
    return True, f"native bf16: a probe convolution ran {speedup:.2f}× the fp32 speed"


def cpu_has_fast_bf16() -> bool:
    """Native bf16 matrix instructions (x86 AVX512-BF16/AMX, Arm BF16): without them CPU bf16
    is emulated. Unknown (no /proc/cpuinfo): assume yes, so nothing is claimed wrongly."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = fh.read()
    except OSError:
        return True
    return any(f in flags for f in ("avx512_bf16", "amx_bf16", " bf16"))


@functools.lru_cache(maxsize=1)
def cpu_bf16_speedup() -> float:
    """fp32 time / bf16-autocast time of a 3×3 convolution (64 channels, 64², batch 2) on this CPU,
    best of 3 each, interleaved: > 1 means bf16 is faster; CPUs without native bf16 give ~0.02."""
    import time

    conv, x = torch.nn.Conv2d(64, 64, 3, padding=1).eval(), torch.randn(2, 64, 64, 64)
    best: dict[bool, float] = {}
    with torch.inference_mode():
        for bf16 in (False, True) * 4:
            t0 = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                conv(x)
            best[bf16] = min(best.get(bf16, float("inf")), time.perf_counter() - t0)
    return best[False] / max(best[True], 1e-9)


_ON, _OFF = ("true", "on", "yes", "1"), ("false", "off", "no", "0")


def resolve_channels_last(value: str | bool, device: torch.device, dtype: torch.dtype = torch.float32) -> bool:
    """`auto` = on for CUDA (tensor-core convolutions want NHWC); off on CPU, where
    benchmarks/train_step.py measured CycleGAN's 256² step slower in channels_last (AVX-512 bf16
    CPU: fp32 0.90×, bf16 1.65× against 1.87× in NCHW, both relative to fp32 NCHW); off on MPS,
    where support is partial."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "auto":
        return device.type == "cuda"
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


def to_device(batch: Any, device: torch.device, channels_last: bool = False) -> Any:
    """Tensors of a (nested dict/list/tuple) batch on `device`; 4-D ones channels_last on request."""
    if isinstance(batch, torch.Tensor):
        batch = batch.to(device, non_blocking=True)
        if channels_last and batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, dict):
        return {k: to_device(v, device, channels_last) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device, channels_last) for v in batch)
    return batch
