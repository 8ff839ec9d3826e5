"""Median training-step time of a variant at its recipe size (prints figures; not a test).

    python benchmarks/train_step.py --variant cyclegan               # 256², batch 1, fp32
    python benchmarks/train_step.py --variant cyclegan --size 128 --steps 5
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from translate import discovery
from translate.engine.device import autocast, resolve_device, resolve_precision
from translate.engine.step import Step


def make_batch(kind: str, cfg, device: torch.device) -> dict[str, torch.Tensor]:  # noqa: ANN001
    shape = (cfg.batch_size, cfg.channels, cfg.image_size, cfg.image_size)
    if kind == "unpaired":
        return {"A": torch.rand(shape, device=device) * 2 - 1, "B": torch.rand(shape, device=device) * 2 - 1}
    raise SystemExit(f"no synthetic batch for data kind '{kind}' yet")


def bench(variant: str, size: int | None, steps: int, warmup: int, precision: str, device: str, channels_last: bool) -> dict:
    discovery.load_all()
    cls = discovery.resolve_variant(variant)
    cfg = cls.config()
    if size:
        cfg.image_size = size
    dev = resolve_device(device)
    dtype = resolve_precision(precision, dev)
    v = cls(cfg)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    nets = {k: n.to(dev, memory_format=fmt) for k, n in v.build(cfg).items()}
    v.nets, v.device = nets, dev
    step = Step(v.optimizers(nets, cfg), {})
    batch = make_batch(cls.data, cfg, dev)
    if channels_last:
        batch = {k: t.contiguous(memory_format=torch.channels_last) for k, t in batch.items()}
    times = []
    for i in range(warmup + steps):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with autocast(dev, dtype):
            v.train_step(batch, step)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return {"variant": variant, "size": cfg.image_size, "batch": cfg.batch_size, "precision": precision,
            "channels_last": channels_last, "median_s": statistics.median(times), "min_s": min(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", default="cyclegan")
    ap.add_argument("--size", type=int, default=None, help="image size (default: the recipe's)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--channels-last", action="store_true")
    a = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    r = bench(a.variant, a.size, a.steps, a.warmup, a.precision, a.device, a.channels_last)
    print(f"{r['variant']} {r['size']}² batch {r['batch']} {r['precision']}"
          f"{' channels_last' if r['channels_last'] else ''}: median {r['median_s']:.3f} s/step "
          f"(min {r['min_s']:.3f}) over {a.steps} steps after {a.warmup} warm-up")


if __name__ == "__main__":
    main()
