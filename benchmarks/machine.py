"""One line about the machine a figure was taken on: CPU, flags that matter, threads, load."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_flags() -> list[str]:
    from translate.inference import cpu

    return cpu.flags()


def isa_line() -> str:
    """Which speed levers this CPU has: AVX2, AVX-512, VNNI (int8), native bf16, AMX."""
    from translate.inference import cpu

    have = set(cpu.flags())
    yes = lambda *fs: "yes" if have & set(fs) else "no"  # noqa: E731
    return (f"ISA: avx2 {yes('avx2')}, avx512 {yes('avx512f')}, vnni {yes('avx512_vnni', 'avx_vnni')}, "
            f"bf16 {yes('avx512_bf16', 'amx_bf16')}, amx {yes('amx_bf16', 'amx_int8')} "
            f"(int8 kernels: {cpu.int8_kind()})")


def machine_line() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    gpu = f"; GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (f"machine: {cpu}, {os.cpu_count()} cores, flags {' '.join(cpu_flags()) or '-'}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads; load average {load}{gpu}")


if __name__ == "__main__":
    print(machine_line())
    print(isa_line())
