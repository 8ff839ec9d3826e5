"""End-to-end `translate convert` throughput with the CycleGAN generator (prints figures; not a test).

    python benchmarks/convert.py                  # 8 generated 256² JPEGs; torch fp32, torch bf16, onnxruntime
    python benchmarks/convert.py -n 32 --backends torch-fp32,onnx --batch-size 8

Decoding, batching, the forward pass and encoding are all inside the timing (a short
warm-up run comes first). Achieved GFLOP/s counts the generator forward only, 99.1 GFLOP per
256² image (49.55 GMACs of convolutions, resnet_9blocks at ngf 64), next to this machine's
fp32 matmul GFLOP/s measured in the same run. The generator is randomly initialised: speed
does not depend on the weights.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from translate.inference.convert import ConvertOptions, convert
from translate.nets import build_net
from translate.device import bf16_verdict
from translate.inference.loading import open_model

GFLOP_PER_IMAGE_256 = 99.1


def matmul_gflops(n: int = 2048, seconds: float = 2.0) -> float:
    """Best fp32 matmul rate over repeated n×n products (2n³ FLOP each)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best, t_end = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def make_photos(folder: Path, n: int, size: int) -> None:
    """`n` size² JPEGs with smooth structure and noise (so JPEG decoding does real work)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(n):
        f = rng.uniform(2, 9, 3)
        base = np.stack([np.sin(f[0] * x + i), np.cos(f[1] * y), np.sin(f[2] * (x + y))], -1) * 100 + 128
        img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"photo_{i:04d}.jpg", quality=90)


def run(weights: Path, photos: Path, out: Path, backend: str, precision: str, opt: ConvertOptions) -> tuple[float, float]:
    """(images/s, setup seconds: load + ONNX export where needed + a one-batch warm-up)."""
    t0 = time.perf_counter()
    t = open_model(weights, backend=backend, device="cpu", precision=precision).pick()
    warm_in = out / "warm_in"
    warm_in.mkdir(parents=True)
    for p in sorted(photos.iterdir())[: max(1, opt.batch_size)]:
        (warm_in / p.name).write_bytes(p.read_bytes())
    convert(t, warm_in, out / "warm", opt)
    setup_s = time.perf_counter() - t0
    report = convert(t, photos, out / "run", opt)
    if report.failed:
        raise SystemExit(f"benchmark conversion failed: {report.failed[0]}")
    return report.images_per_second, setup_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=8, help="images to convert")
    ap.add_argument("--size", type=int, default=256, help="image side in pixels")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--force-bf16", action="store_true", help="run bf16 even where the CPU has no fast bf16 kernels")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    ap.add_argument("--backends", default="torch-fp32,torch-bf16,onnx", help="comma list of torch-fp32, torch-bf16, onnx")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"torch {torch.__version__} (CPU: {torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads; {args.n} × {args.size}² JPEGs, "
          f"batch {args.batch_size}, {args.workers} decode + {args.workers} encode threads", flush=True)
    peak = matmul_gflops()
    print(f"fp32 matmul (2048²): {peak:.1f} GFLOP/s", flush=True)
    flop = GFLOP_PER_IMAGE_256 * (args.size / 256) ** 2
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "photos").mkdir()
        make_photos(root / "photos", args.n, args.size)
        torch.manual_seed(0)
        weights = root / "cyclegan_resnet_9blocks.pth"
        torch.save(build_net("resnet_9blocks").state_dict(), weights)  # the official key layout
        opt = ConvertOptions(batch_size=args.batch_size, workers=args.workers, progress=False)
        print(f"{'backend':<12} {'images/s':>9} {'GFLOP/s':>9} {'of matmul':>10} {'setup s':>8}", flush=True)
        for name in args.backends.split(","):
            backend, _, precision = name.partition("-")
            fast, why = bf16_verdict(torch.device("cpu"))
            if precision == "bf16" and not args.force_bf16 and not fast:
                print(f"{name:<12} skipped: {why} — --force-bf16 runs it anyway", flush=True)
                continue
            ips, setup_s = run(weights, root / "photos", root / name, backend, precision or "fp32", opt)
            print(f"{name:<12} {ips:>9.3f} {ips * flop:>9.1f} {ips * flop / peak:>9.0%} {setup_s:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
