"""One line about the machine a figure was taken on: CPU, flags that matter, threads, load."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    return [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8") if f in flags]


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
