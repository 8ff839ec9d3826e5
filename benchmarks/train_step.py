"""Training-step speed of each registered variant at its recipe size (prints figures; not a test).

    python benchmarks/train_step.py                          # every variant with a known data kind
    python benchmarks/train_step.py --variant cyclegan       # 256², batch 1: the table below
    python benchmarks/train_step.py --variant cyclegan --size 128 --steps 5 --compile
    python benchmarks/train_step.py --variant cyclegan --demo --steps 30 --no-bf16   # the 32-px demo

For each variant: the median time of the engine's training step (`Trainer.train_step`: device,
layout, autocast, the variant's step, loss readout) over `--steps` steps after `--warmup`, for
fp32 and bf16, each in NCHW and channels_last (torch.compile with --compile), the speed-up over
engine fp32 NCHW and over the plain loop (below) in the same run, the first step's time
(torch.compile's warm-up), and the achieved GFLOP/s — FLOPs of one step counted
with FlopCounterMode — next to this machine's matmul GFLOP/s measured in the same run. Where a
hand-written eager loop of the same math exists (CycleGAN: the textbook step), it is timed too.

Configurations run round-robin, one step each per round, so a machine whose load changes
(shared cores) slows all of them alike. A configuration whose steps exceed --budget seconds
in total stops early and reports how many steps it timed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from translate import discovery
from translate.data import DataBundle
from translate.device import cpu_has_fast_bf16, resolve_device
from translate.engine import EngineConfig, Trainer
from translate.errors import TranslateError
from translate.variant import VARIANTS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402


# --- plain hand-written loops of the same math, to compare the engine's step against --------
def cyclegan_textbook(trainer: Trainer, batch: dict[str, torch.Tensor]) -> Callable[[], Any]:
    """The textbook CycleGAN step written out: 6 generator and 4 discriminator calls, LSGAN,
    λ 10, identity 0.5·λ, D loss halved; the same nets and Adam optimizers as the engine's.
    (No image pool: a pool below its 50 images returns its input, as in these few steps.)"""
    import torch.nn.functional as F

    n = trainer.plain_nets
    G_AB, G_BA, D_A, D_B = n["G_AB"], n["G_BA"], n["D_A"], n["D_B"]
    opt_G, opt_D = trainer.optimizers["G"], trainer.optimizers["D"]
    d_params = [*D_A.parameters(), *D_B.parameters()]
    a, b = batch["A"], batch["B"]

    def step() -> tuple[float, float]:
        for p in d_params:
            p.requires_grad_(False)
        fake_B, fake_A = G_AB(a), G_BA(b)
        rec_A, rec_B = G_BA(fake_B), G_AB(fake_A)
        loss_G = ((D_B(fake_B) - 1) ** 2).mean() + ((D_A(fake_A) - 1) ** 2).mean()
        loss_G = loss_G + 10 * (F.l1_loss(rec_A, a) + F.l1_loss(rec_B, b))
        loss_G = loss_G + 5 * (F.l1_loss(G_AB(b), b) + F.l1_loss(G_BA(a), a))
        opt_G.zero_grad(set_to_none=True)
        loss_G.backward()
        opt_G.step()
        for p in d_params:
            p.requires_grad_(True)
        fa, fb = fake_A.detach(), fake_B.detach()
        loss_D = 0.5 * (((D_A(a) - 1) ** 2).mean() + (D_A(fa) ** 2).mean())
        loss_D = loss_D + 0.5 * (((D_B(b) - 1) ** 2).mean() + (D_B(fb) ** 2).mean())
        opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        opt_D.step()
        return loss_G.item(), loss_D.item()

    return step


REFERENCE_LOOPS: dict[str, Callable[[Trainer, dict[str, torch.Tensor]], Callable[[], Any]]] = {
    "cyclegan": cyclegan_textbook,
}


# --- synthetic batches, one function per data kind ------------------------------------------
def _img(cfg: Any, n: int, size: int | None = None, lo: float = -1.0) -> torch.Tensor:
    s = size or cfg.image_size
    return torch.rand(n, cfg.channels, s, s) * (1 - lo) + lo


def _labelled(cfg: Any, n: int) -> dict[str, torch.Tensor]:
    return {"image": _img(cfg, n), "label": torch.randint(max(1, getattr(cfg, "num_classes", 10)), (n,))}


SYNTHETIC: dict[str, Callable[[Any, int], dict[str, torch.Tensor]]] = {
    "unpaired": lambda cfg, n: {"A": _img(cfg, n), "B": _img(cfg, n)},
    "two_folders": lambda cfg, n: {"A": _img(cfg, n), "B": _img(cfg, n)},
    "single": lambda cfg, n: {"image": _img(cfg, n)},
    "labelled": _labelled,
    "sr": lambda cfg, n: {"lr": _img(cfg, n, cfg.image_size // cfg.scale, 0.0), "hr": _img(cfg, n)},
}


class Items(torch.utils.data.Dataset):
    """The synthetic batch, item by item (what the Trainer's data bundle needs)."""

    def __init__(self, batch: dict[str, torch.Tensor]) -> None:
        self.batch = batch

    def __len__(self) -> int:
        return len(next(iter(self.batch.values())))

    def __getitem__(self, key: Any) -> dict[str, torch.Tensor]:
        i = key[0] if isinstance(key, tuple) else key
        return {k: v[i] for k, v in self.batch.items()}


# --- what is timed -------------------------------------------------------------------------------
class Runner:
    def __init__(self, label: str, step: Callable[[], Any], dtype: str) -> None:
        self.label, self.step, self.dtype = label, step, dtype
        self.times: list[float] = []
        self.first: float | None = None  # the first step's seconds (compilation, allocator warm-up)
        self.spent = 0.0
        self.done = False
        self.error = ""

    def run(self, timed: bool, sync: Callable[[], None]) -> None:
        sync()
        t0 = time.perf_counter()
        self.step()
        sync()
        dt = time.perf_counter() - t0
        if self.first is None:
            self.first = dt
        self.spent += dt
        if timed:
            self.times.append(dt)


def make_trainer(cls: type, cfg: Any, batch: dict, device: str, precision: str, channels_last: bool,
                 compile_: bool, run_dir: Path) -> Trainer:
    eng = EngineConfig(device=device, precision=precision, channels_last=str(channels_last).lower(),
                       compile=compile_, tensorboard=False, progress=False, num_workers=0, steps=10**9)
    data = DataBundle(train=Items(batch), preview=Items(batch), source="synthetic", in_memory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bf16-on-this-CPU is reported in the table header instead
        return Trainer(cls, cfg, eng, data, run_dir)


def matmul_gflops(dtype: torch.dtype, n: int, device: torch.device, budget: float = 3.0) -> float:
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    a @ b
    sync()
    reps, t0 = 0, time.perf_counter()
    while reps < 3 or time.perf_counter() - t0 < budget / 3:
        a @ b
        reps += 1
        if time.perf_counter() - t0 > budget:
            break
    sync()
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def bench_variant(name: str, a: argparse.Namespace, peaks: dict[str, float], out: Any) -> None:
    cls = VARIANTS.get(name)
    make = SYNTHETIC.get(cls.data)
    if make is None:
        print(f"\n{name}: skipped — no synthetic batch for data kind '{cls.data}' (add one to SYNTHETIC)", file=out)
        return
    cfg = cls.config()
    if a.demo:
        from translate import config as C

        cfg = C.apply(cfg, cls.demo)
    if a.size:
        cfg.image_size = a.size
    if a.batch:
        cfg.batch_size = a.batch
    cfg = cls.settle(cfg, {"class_names": [str(i) for i in range(10)]})  # labelled data: the benchmark picks 10 classes
    torch.manual_seed(0)
    batch = make(cfg, cfg.batch_size)
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    configs = [("fp32", False, False), ("fp32", True, False)]
    if not a.no_bf16:
        configs += [("bf16", False, False), ("bf16", True, False)]
    if a.compile:
        configs += [("fp32", False, True)] + ([] if a.no_bf16 else [("bf16", False, True)])
    runners: list[Runner] = []
    try:
        trainers = {}
        for prec, cl, comp in configs:
            label = f"engine {prec} {'channels_last' if cl else 'NCHW'}{' compile' if comp else ''}"
            tr = make_trainer(cls, cfg, batch, a.device, prec, cl, comp, tmp / label.replace(" ", "_"))
            trainers[label] = tr
            runners.append(Runner(label, lambda tr=tr: tr.train_step(batch), prec))
            if (prec, cl, comp) == ("fp32", False, False) and name in REFERENCE_LOOPS:
                ref = make_trainer(cls, cfg, batch, a.device, "fp32", False, False, tmp / "ref")
                loop = REFERENCE_LOOPS[name](ref, batch)
                runners.insert(0, Runner("plain eager loop fp32 NCHW", loop, "fp32"))
    except (TranslateError, FileNotFoundError) as err:  # e.g. weights a loss needs are not here
        print(f"\n{name}: skipped — {err}", file=out)
        return
    base = next(iter(trainers.values()))
    try:
        with FlopCounterMode(display=False) as counter:
            base.train_step(batch)
    except Exception as err:  # the variant cannot train on this size/batch
        print(f"\n{name}: skipped — its step fails here: {type(err).__name__}: {str(err).splitlines()[0][:120]}",
              file=out)
        return
    flops = counter.get_total_flops()
    dev = base.device
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    for round_ in range(a.warmup + a.steps):
        for r in runners:
            if r.done:
                continue
            try:
                r.run(round_ >= a.warmup, sync)
            except Exception as err:  # e.g. compile failing inside the backward
                r.done, r.error = True, f"{type(err).__name__}: {str(err).splitlines()[0][:80]}"
            if r.spent > a.budget and r.times:
                r.done = True

    shape = "×".join(str(s) for s in next(iter(batch.values())).shape)
    print(f"\n{name} — {cls.data} batch {shape}, {flops / 1e9:.1f} GFLOP per step (FlopCounterMode), "
          f"{a.steps} timed steps after {a.warmup} warm-up", file=out)
    ref = next((r for r in runners if r.label == "engine fp32 NCHW" and r.times), None)
    ref_t = statistics.median(ref.times) if ref else None
    plain = next((r for r in runners if r.label.startswith("plain") and r.times), None)
    plain_t = statistics.median(plain.times) if plain else None
    print(f"  {'configuration':<36}{'median s/step':>14}{'min':>9}{'n':>4}{'vs fp32 NCHW':>14}{'vs plain':>10}"
          f"{'1st step s':>11}{'GFLOP/s':>9}{'of matmul':>11}", file=out)
    for r in runners:
        if not r.times:
            print(f"  {r.label:<36}{'failed: ' + r.error if r.error else 'no timed step':>14}", file=out)
            continue
        med = statistics.median(r.times)
        rate = flops / med / 1e9
        ratio = f"{ref_t / med:.2f}×" if ref_t else "-"
        vs_plain = f"{plain_t / med:.2f}×" if plain_t else "-"
        print(f"  {r.label:<36}{med:>14.3f}{min(r.times):>9.3f}{len(r.times):>4}{ratio:>14}{vs_plain:>10}"
              f"{r.first or 0:>11.1f}{rate:>9.1f}"
              f"{rate / peaks[r.dtype]:>10.0%}{' (stopped: budget)' if len(r.times) < a.steps else ''}", file=out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", action="append", help="variant name (repeatable; default: all registered)")
    ap.add_argument("--size", type=int, default=None, help="image size (default: the recipe's)")
    ap.add_argument("--batch", type=int, default=None, help="batch size (default: the recipe's)")
    ap.add_argument("--demo", action="store_true", help="the variant's built-in demo settings instead of its recipe")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--budget", type=float, default=600.0, help="seconds of timed steps per configuration")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile'd nets")
    ap.add_argument("--no-bf16", action="store_true", help="fp32 only (e.g. to repeat the fp32 figures quickly)")
    a = ap.parse_args()
    discovery.load_all()
    names = a.variant or VARIANTS.names()
    dev = resolve_device(a.device)
    print(machine_line())
    n32, n16 = (8192, 8192) if dev.type == "cuda" else (1024, 512)
    peaks = {"fp32": matmul_gflops(torch.float32, n32, dev), "bf16": matmul_gflops(torch.bfloat16, n16, dev)}
    print(f"ATen CPU capability {torch.backends.cpu.get_cpu_capability()}; native CPU bf16: "
          f"{'yes' if cpu_has_fast_bf16() else 'no (bf16 rows run in emulation)'}")
    print(f"matmul on {dev.type}, measured now: fp32 {peaks['fp32']:.1f} GFLOP/s ({n32}³), "
          f"bf16 {peaks['bf16']:.1f} GFLOP/s ({n16}³)")
    for name in names:
        bench_variant(name, a, peaks, sys.stdout)
        sys.stdout.flush()
    print(f"\n{machine_line()}  (at the end)")


if __name__ == "__main__":
    main()
