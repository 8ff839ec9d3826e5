"""Median SRGAN / SRResNet training-step time at the paper's size (prints figures; not a test).

    python benchmarks/sr_step.py                      # batch 16, 96-px HR crops, both phases
    python benchmarks/sr_step.py --phase srgan --steps 3 --threads 2

Full recipe networks (SRResNet 16 blocks × 64, the paper's discriminator) and a real VGG19
φ5,4 architecture with random weights: the weights do not change the cost, and no download
is needed.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from translate.device import autocast, resolve_device, resolve_precision
from translate.engine.step import Step
from translate.kit.perceptual import PerceptualLoss, vgg19_features
from translate.plugins.srgan import SRGAN, SRGANConfig


def bench(phase: str, batch: int, size: int, steps: int, warmup: int, device: str, precision: str) -> dict:
    dev = resolve_device(device)
    dtype = resolve_precision(precision, dev)
    cfg = SRGANConfig(phase="srresnet+srgan" if phase == "srgan" else "srresnet", pretrain_epochs=0,
                      batch_size=batch, image_size=size)
    v = SRGAN(cfg)
    nets = {k: n.to(dev) for k, n in v.build(cfg).items()}
    step = Step(v.optimizers(nets, cfg), {}, device=dev)
    if phase == "srgan":  # the auxiliary VGG loss auxiliary() would load from a weights file, at random
        nets["vgg"] = PerceptualLoss(vgg19_features(cfg.vgg_layer), (-1.0, 1.0), cfg.vgg_rescale).to(dev).eval()
    k = cfg.scale
    data = {"lr": torch.rand(batch, 3, size // k, size // k, device=dev),
            "hr": torch.rand(batch, 3, size, size, device=dev) * 2 - 1}
    times = []
    for i in range(warmup + steps):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with autocast(dev, dtype):
            v.train_step(nets, data, step)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return {"phase": phase, "median_s": statistics.median(times), "min_s": min(times), "device": str(dev)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phase", choices=["srresnet", "srgan", "both"], default="both")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=96, help="HR crop size (LR = size / 4)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="fp32")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for phase in (["srresnet", "srgan"] if a.phase == "both" else [a.phase]):
        r = bench(phase, a.batch, a.size, a.steps, a.warmup, a.device, a.precision)
        print(f"{phase}: batch {a.batch}, {a.size}² HR, {a.precision} on {r['device']}: median {r['median_s']:.2f} s/step "
              f"(min {r['min_s']:.2f}) over {a.steps} steps after {a.warmup} warm-up")


if __name__ == "__main__":
    main()
