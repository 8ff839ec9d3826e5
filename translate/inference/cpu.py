"""What this CPU offers the fast kernels, read from /proc/cpuinfo without importing torch: the
instruction-set line a figure is quoted with, and which int8 dot-product kernels onnxruntime
dispatches to (an int8 model is judged on one kind; another kind runs other kernels)."""
from __future__ import annotations

import functools
import platform
from pathlib import Path

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
VNNI = ("avx512_vnni", "avx_vnni", "amx_int8")


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> tuple[str, frozenset[str]]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine(), frozenset()
    lines = text.splitlines()
    name = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.machine())
    flags = next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), [])
    return name, frozenset(flags)


def name() -> str:
    return _cpuinfo()[0]


def flags() -> list[str]:
    """The flags of FLAGS this CPU has, in that order."""
    have = _cpuinfo()[1]
    return [f for f in FLAGS if f in have]


def int8_kind() -> str:
    """"vnni" (AVX512-VNNI, AVX-VNNI or AMX-INT8: uint8×int8 products summed in int32), "avx2"
    (uint8×int8 pairs summed in int16 first, which saturates unless weights are 7-bit), or the
    machine's name where /proc/cpuinfo says neither (another architecture: other kernels again)."""
    have = _cpuinfo()[1]
    if any(f in have for f in VNNI):
        return "vnni"
    if "avx2" in have:
        return "avx2"
    return platform.machine() or "unknown"
