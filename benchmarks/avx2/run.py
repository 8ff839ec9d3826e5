"""Run a command as it runs on an AVX2-only x86-64 CPU (no AVX-512, AVX-VNNI, AVX512-BF16, AMX),
on this machine, at native speed:

    python benchmarks/avx2/run.py -- python benchmarks/quantize.py --model RUN ...
    python benchmarks/avx2/run.py --check        # what the process sees, both ways

For measuring, not for users: a CPU of that kind is what a user without AVX-512 has, and the
kernels that onnxruntime and torch dispatch to there (u8s8 int8 without VNNI, AVX2 fp32) are
the ones this runs. How:
- onnxruntime is copied into a cache folder and every CPUID/XGETBV instruction of its libraries
  (found with objdump) becomes UD2; shim.c, preloaded, executes the real instruction on SIGILL
  and clears the AVX-512/VNNI/BF16/AMX bits (and their XCR0 state bits) before resuming;
- torch gets ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2 (its own switches), numpy
  NPY_DISABLE_CPU_FEATURES, MKL MKL_ENABLE_INSTRUCTIONS=AVX2;
- /proc/cpuinfo reads (translate's CPU kind, precision auto) show the flags without them.
Caveat: the same cores and caches as this machine (not, say, a Haswell's), AVX2 code paths only.
Needs gcc and objdump (binutils).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "translate-avx2"
HIDDEN = re.compile(r"^(avx512\w*|avx_vnni\w*|amx\w*|avx_ifma|avx_ne_convert|avx_vnni_int8)$")
NUMPY_OFF = "X86_V4 AVX512_ICL AVX512_SPR"  # numpy 2.4 names its AVX-512 groups so; X86_V3 is AVX2


def _sites(lib: Path) -> list[tuple[int, str]]:
    """(virtual address, 'c' cpuid | 'x' xgetbv) of each such instruction in `lib`."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True,
                         check=True).stdout
    found = []
    for m in re.finditer(r"^\s*([0-9a-f]+):\s+(cpuid|xgetbv)\s*$", out, re.M):
        found.append((int(m.group(1), 16), "c" if m.group(2) == "cpuid" else "x"))
    return found


def _file_offset(lib: Path, vaddr: int) -> int:
    text = subprocess.run(["readelf", "-lW", str(lib)], capture_output=True, text=True, check=True).stdout
    for m in re.finditer(r"LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", text):
        off, va, size = (int(g, 16) for g in m.groups())
        if va <= vaddr < va + size:
            return vaddr - va + off
    raise RuntimeError(f"{lib}: address {vaddr:#x} is in no LOAD segment")


def prepare() -> dict[str, str]:
    """Build (once per onnxruntime version) the patched copy and the shim; the environment to run with."""
    import onnxruntime

    src = Path(onnxruntime.__file__).parent
    key = hashlib.sha256(f"{src}:{onnxruntime.__version__}:{(HERE / 'shim.c').read_bytes()!r}".encode()).hexdigest()[:12]
    root = CACHE / key
    site, shim, cpuinfo = root / "site", root / "shim.so", root / "cpuinfo"
    if not shim.exists():
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(src, site / "onnxruntime", symlinks=True)
        rows = []
        for lib in sorted((site / "onnxruntime").rglob("*.so*")):
            if lib.is_symlink() or not lib.is_file():
                continue
            sites = _sites(lib)
            data = bytearray(lib.read_bytes())
            for vaddr, kind in sites:
                at = _file_offset(lib, vaddr)
                want = b"\x0f\xa2" if kind == "c" else b"\x0f\x01\xd0"
                if bytes(data[at:at + len(want)]) != want:
                    raise RuntimeError(f"{lib.name}: {vaddr:#x} is not {kind}")
                data[at:at + 2] = b"\x0f\x0b"  # ud2 (xgetbv's third byte is never reached)
                rows.append(f'    {{"{lib.name}", {vaddr:#x}u, \'{kind}\'}},')
            lib.write_bytes(bytes(data))
            print(f"patched {len(sites)} CPUID/XGETBV in {lib.name}", file=sys.stderr)
        header = root / "sites.h"
        header.write_text("struct site { const char *lib; unsigned long addr; char kind; };\n"
                          "static const struct site SITES[] = {\n" + "\n".join(rows) + "\n};\n"
                          f"#define N_SITES {len(rows)}\n")
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-I", str(root), "-o", str(shim), str(HERE / "shim.c"),
                        "-ldl"], check=True)
    lines = []
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            head, flags = line.split(":", 1)
            line = head + ": " + " ".join(f for f in flags.split() if not HIDDEN.match(f))
        lines.append(line)
    cpuinfo.write_text("\n".join(lines) + "\n")
    env = dict(os.environ)
    env.update(PYTHONPATH=os.pathsep.join([str(site)] + [p for p in [env.get("PYTHONPATH")] if p]),
               LD_PRELOAD=str(shim), AVX2_CPUINFO=str(cpuinfo), ATEN_CPU_CAPABILITY="avx2",
               ONEDNN_MAX_CPU_ISA="AVX2", MKL_ENABLE_INSTRUCTIONS="AVX2", NPY_DISABLE_CPU_FEATURES=NUMPY_OFF)
    return env


CHECK = r"""
import numpy as np, onnxruntime as ort, torch
from translate.inference import cpu
feats = np._core._multiarray_umath.__cpu_features__
print("  translate sees:", cpu.int8_kind(), cpu.flags())
print("  numpy dispatch:", {k: feats[k] for k in ("X86_V3", "X86_V4", "AVX512_ICL") if k in feats})
print("  torch kernels:", torch.backends.cpu.get_cpu_capability())
print("  onnxruntime:", ort.__file__)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="print what a process sees here and under the AVX2 view")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    env = prepare()
    if a.check:
        for label, e in (("this CPU", os.environ), ("as AVX2-only", env)):
            print(label)
            subprocess.run([sys.executable, "-c", CHECK], env=e, check=True)
        return
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("give a command after --")
    sys.exit(subprocess.run(cmd, env=env).returncode)


if __name__ == "__main__":
    main()
