"""Folder conversion end to end, as a user runs it, with the CycleGAN generator (prints figures; not a test).

    python benchmarks/convert.py                          # 16 photos 256², every row, 3 interleaved rounds
    python benchmarks/convert.py -n 4 --size 1024x768 --rows plain,fp32,bf16,onnx
    python benchmarks/convert.py --weights runs/h2z/checkpoints/latest.pt --photos my_photos/

Each row is one command in a fresh process, exactly what a user would time with `time`:
start-up and imports, model loading, decoding, the generator, encoding and writing — and its
peak memory (the process's max RSS, its children included). Rows:

  plain   a plain single-process loop of the same stages, the shape of the reference
          implementation's test script (PIL decode, normalise, G(x), to uint8, PNG save, one
          image at a time, no threads) — the yardstick;
  fp32    translate convert WEIGHTS IN OUT              (torch, fp32)
  bf16    ... --precision bf16                          (skipped where bf16 is not native)
  onnx    translate convert G.onnx IN OUT               (onnxruntime, fp32)
  int8    translate convert G.int8.onnx IN OUT          (static int8, calibrated on the photos)
  nproc2  translate convert WEIGHTS IN OUT --nproc 2    (two processes, one thread each)

The rows run round-robin, one run each per round, so load that changes during the benchmark
hits every row alike; the table gives the median and min seconds per image over the rounds,
the ratio of each row's median to the plain loop's and to fp32's, the per-stage split of the
median run (start-up = everything before the first image: imports and model loading; decode
and encode are summed over the worker threads and overlap the generator) and the peak memory.
The generator is randomly initialised unless --weights is given: speed does not depend on the
weights (the int8 row's agreement with fp32 does; see benchmarks/quantize.py).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import isa_line, machine_line  # noqa: E402

ROWS = ("plain", "fp32", "bf16", "onnx", "int8", "nproc2")
STAGES = re.compile(r"per image: decode ([\d.]+)s, forward ([\d.]+)s, encode ([\d.]+)s")
CONVERTED = re.compile(r"converted (\d+), .* in ([\d.]+)s")


def plain_loop(weights: str, src: str, dst: str) -> None:
    """The yardstick, run in its own process: one image at a time, no threads, no batching."""
    t_start = time.perf_counter()
    import torch

    from translate.nets import build_net

    net = build_net("resnet_9blocks")
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict(state.get("G_AB", state) if isinstance(state, dict) and "G_AB" in state else state)
    net.eval()
    out = Path(dst)
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in Path(src).iterdir() if p.suffix.lower() in (".jpg", ".png"))
    stages = dict.fromkeys(("decode", "forward", "encode"), 0.0)
    t0 = time.perf_counter()
    for path in files:
        t = time.perf_counter()
        img = np.asarray(Image.open(path).convert("RGB"), np.float32)
        x = torch.from_numpy(img).permute(2, 0, 1)[None] / 127.5 - 1
        stages["decode"] += time.perf_counter() - t
        t = time.perf_counter()
        with torch.no_grad():
            y = net(x)
        stages["forward"] += time.perf_counter() - t
        t = time.perf_counter()
        arr = ((y[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
        Image.fromarray(arr).save(out / (path.stem + ".png"))
        stages["encode"] += time.perf_counter() - t
    seconds = time.perf_counter() - t0
    n = len(files)
    print(f"converted {n}, skipped 0, failed 0 in {seconds:.1f}s (start-up {t0 - t_start:.2f}s)")
    print("per image: " + ", ".join(f"{k} {v / n:.3f}s" for k, v in stages.items()))


def make_photos(folder: Path, n: int, width: int, height: int) -> None:
    """`n` JPEGs with smooth structure and noise (so decoding does real work)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) / max(width, height)
    for i in range(n):
        f = rng.uniform(2, 9, 3)
        base = np.stack([np.sin(f[0] * x + i), np.cos(f[1] * y), np.sin(f[2] * (x + y))], -1) * 100 + 128
        img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"photo_{i:04d}.jpg", quality=90)


# Runs a command and prints its peak RSS. A process forked from this (large) benchmark process
# inherits its high-water mark, so the command is started from this small interpreter instead.
PEAK = ("import os, subprocess, sys\n"
        "p = subprocess.Popen(sys.argv[1:])\n"
        "_, status, usage = os.wait4(p.pid, 0)\n"
        "print(f'peak-rss-mib {usage.ru_maxrss / 1024:.0f}', flush=True)\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n")


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB of the process and its children, output) of one command."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK, *cmd], capture_output=True, env=env, text=True, check=False)
    wall = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    if proc.returncode:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{out[-2000:]}")
    peak = re.search(r"peak-rss-mib (\d+)", out)
    return wall, float(peak.group(1)) if peak else float("nan"), out


def prepare(root: Path, a: argparse.Namespace, rows: list[str]) -> tuple[Path, Path, dict[str, list[str]]]:
    import torch

    from translate.device import bf16_verdict
    from translate.inference.export import export_onnx
    from translate.nets import build_net

    photos = Path(a.photos) if a.photos else root / "photos"
    if not a.photos:
        photos.mkdir()
        w, _, h = a.size.partition("x")
        make_photos(photos, a.n, int(w), int(h or w))
    if a.weights:
        weights = Path(a.weights)
    else:
        torch.manual_seed(0)
        weights = root / "cyclegan_resnet_9blocks.pth"
        torch.save(build_net("resnet_9blocks").state_dict(), weights)  # the official key layout
    cli = [sys.executable, "-m", "translate", "-v", "convert"]
    opts = ["--batch-size", str(a.batch_size), "--workers", str(a.workers), "--overwrite"]
    cmds: dict[str, list[str]] = {}

    def conv(row: str, model: Path, *extra: str) -> list[str]:
        return [*cli, str(model), str(photos), str(root / f"out_{row}"), *opts, *extra]

    for row in rows:
        if row == "plain":
            cmds[row] = [sys.executable, __file__, "--plain-loop", str(weights), str(photos), str(root / "out_plain")]
        elif row == "fp32":
            cmds[row] = conv(row, weights)
        elif row == "bf16":
            fast, why = bf16_verdict(torch.device("cpu"))
            if fast or a.force_bf16:
                cmds[row] = conv(row, weights, "--precision", "bf16")
            else:
                print(f"bf16 row skipped: {why} (--force-bf16 runs it anyway)")
        elif row == "onnx":
            onnx = root / "g.onnx"
            export_onnx(weights, onnx, exporter="torchscript", check=False)
            cmds[row] = conv(row, onnx)
        elif row == "int8":
            int8 = root / "g.int8.onnx"
            t0 = time.perf_counter()
            result = export_onnx(weights, int8, exporter="torchscript", quantize="int8", calibrate=photos,
                                 calibrate_count=max(1, min(16, len(list(photos.iterdir())) // 2)))
            q = result.quality
            print(f"int8 export: {time.perf_counter() - t0:.0f} s; vs fp32 onnxruntime on {q['images_measured']} "
                  f"{q['scored_on']}: {q['speedup_vs_fp32']:.2f}× faster, PSNR {q['psnr_vs_fp32']:.1f} dB "
                  f"(worst {q['psnr_vs_fp32_min']:.1f})")
            cmds[row] = conv(row, int8)
        elif row == "nproc2":
            cmds[row] = conv(row, weights, "--nproc", "2")
        else:
            raise SystemExit(f"unknown row '{row}'; use {', '.join(ROWS)}")
    return photos, weights, cmds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=16, help="photos to generate")
    ap.add_argument("--size", default="256", help="photo size: 256 or WIDTHxHEIGHT")
    ap.add_argument("--photos", help="a folder of your own photos instead of generated ones")
    ap.add_argument("--weights", help="generator weights (default: random resnet_9blocks, the official key layout)")
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma list of {', '.join(ROWS)}")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (each runs every row once)")
    ap.add_argument("--batch-size", type=int, default=0, help="0: translate's default (1 on the CPU)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--force-bf16", action="store_true", help="run bf16 even where the CPU has no fast bf16 kernels")
    ap.add_argument("--plain-loop", nargs=3, metavar=("WEIGHTS", "IN", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.plain_loop:
        plain_loop(*a.plain_loop)
        return
    print(machine_line(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        photos, _, cmds = prepare(root, a, [r.strip() for r in a.rows.split(",") if r.strip()])
        n = len([p for p in photos.iterdir() if p.is_file()])
        print(f"{n} photos ({a.size if not a.photos else photos}), batch {a.batch_size}, {a.workers} decode + "
              f"{a.workers} encode threads, {a.rounds} rounds", flush=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path.cwd()), os.environ.get("PYTHONPATH")]))}
        runs: dict[str, list[tuple[float, float, str]]] = {row: [] for row in cmds}
        for r in range(a.rounds):
            for row, cmd in cmds.items():
                shutil.rmtree(root / f"out_{row}", ignore_errors=True)
                runs[row].append(timed(cmd, env))
            print(f"  round {r + 1}/{a.rounds} done; load average {os.getloadavg()[0]:.2f}", flush=True)
        report(runs, n)
        print(machine_line())


def _ratio(ref: float | None, t: float) -> str:
    """Speed-up of a row over a reference row (>1: faster)."""
    return f"{ref / t:.2f}×" if ref else "-"


def report(runs: dict[str, list[tuple[float, float, str]]], n: int) -> None:
    med = {row: statistics.median(w for w, _, _ in rs) / n for row, rs in runs.items()}
    base, fp32 = med.get("plain"), med.get("fp32")
    print(f"\n{'row':<7} {'s/img med':>9} {'min':>7} {'×plain':>7} {'×fp32':>6}   {'start-up':>8} {'decode':>7} "
          f"{'forward':>8} {'encode':>7}   {'peak MiB':>8}")
    for row, rs in runs.items():
        ordered = sorted(rs, key=lambda t: t[0])
        wall, _, out = ordered[len(ordered) // 2]
        peak = max(p for _, p, _ in rs)
        stages = STAGES.search(out)
        done = CONVERTED.search(out)
        startup = wall - float(done.group(2)) if done else float("nan")
        split = [float(g) for g in stages.groups()] if stages else [float("nan")] * 3
        print(f"{row:<7} {med[row]:>9.3f} {ordered[0][0] / n:>7.3f} {_ratio(base, med[row]):>7} {_ratio(fp32, med[row]):>6}   "
              f"{startup:>7.1f}s {split[0]:>6.3f}s {split[1]:>7.3f}s {split[2]:>6.3f}s   {peak:>8.0f}")
    print("(×plain, ×fp32: that row's speed-up over the plain loop / translate fp32, medians of this run; "
          "start-up in seconds per run, stages in seconds per image)")
    print(levers(med))


def levers(med: dict[str, float]) -> str:
    """The ISA line with each lever's speed-up over the plain loop: which one this CPU has."""
    base = med.get("plain")
    parts = [f"{row} {_ratio(base, med[row])}" if row in med else f"{row} not run"
             for row in ("fp32", "onnx", "int8", "bf16")]
    return f"{isa_line()}; over the plain loop: {', '.join(parts)}"


if __name__ == "__main__":
    main()
