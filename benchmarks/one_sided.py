"""CycleGAN vs CUT vs FastCUT on the built-in demo at equal wall-clock (prints figures; not a test).

    python benchmarks/one_sided.py                       # 90 s of training each, PSNR at 15/30/60/90 s
    python benchmarks/one_sided.py --seconds 40 --marks 10,20,40 --threads 1

Each variant trains on the apples→oranges demo with its demo settings (the same 32-px nets:
ResNet-6 at ngf 16, PatchGAN at ndf 16, batch 4) at a constant learning rate, so the figures
after the same seconds do not depend on each recipe's epoch count. The variants run
round-robin, one step each per round, so a machine whose load changes (shared cores) slows
all of them alike; each one's clock counts only its own training steps (not the evaluations).
At each mark: PSNR of A→B against the demo's held-out truth, next to leaving A unchanged.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from translate import config as C
from translate.jobs import train as T
from translate.data import open_data
from translate.engine import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402

VARIANTS = ("cyclegan", "cut", "fastcut")


class Contender:
    def __init__(self, variant: str, runs: Path, marks: list[float]) -> None:
        sets = C.parse_sets(["progress=false", "tensorboard=false", "lr_schedule=constant", "steps=1000000"])
        plan = T.plan(variant, sets=sets, runs_dir=runs, name=variant)
        data = open_data(plan.variant.data, plan.data, plan.model)
        self.name, self.marks = variant, list(marks)
        self.trainer = Trainer(plan.variant, plan.variant.settle(plan.model, data.info), plan.engine, data,
                               plan.run_dir)
        self.batches = self.trainer._batches()
        self.clock, self.times, self.scores = 0.0, [], {}

    @property
    def done(self) -> bool:
        return not self.marks

    def step(self) -> None:
        tr = self.trainer
        batch = next(self.batches)
        t0 = time.perf_counter()
        tr.train_step(batch)
        dt = time.perf_counter() - t0
        tr.progress.step += 1
        tr.progress.batch_in_epoch += 1
        self.clock += dt
        self.times.append(dt)
        while self.marks and self.clock >= self.marks[0]:
            mark = self.marks.pop(0)
            self.scores[mark] = (tr.progress.step, tr.evaluate())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=90.0, help="training seconds per variant")
    ap.add_argument("--marks", default="15,30,60", help="also evaluate after these seconds (comma-separated)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    marks = sorted({*(float(m) for m in args.marks.split(",") if m), args.seconds})
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        runs = [Contender(v, Path(tmp), marks) for v in VARIANTS]
        while not all(r.done for r in runs):
            for r in runs:
                if not r.done:
                    r.step()
    identity = next(iter(runs[0].scores.values()))[1]["psnr_identity"]
    head = f"{'variant':9} {'s/step':>7} " + " ".join(f"{f'PSNR@{m:g}s (steps)':>18}" for m in marks)
    print(f"demo apples→oranges 32 px, batch 4, constant lr; PSNR A→B vs held-out truth (identity {identity:.2f} dB)")
    print(head)
    for r in runs:
        cells = [f"{s['psnr_AtoB']:>10.2f} ({n:>5})" for n, s in (r.scores[m] for m in marks)]
        print(f"{r.name:9} {statistics.median(r.times):>7.3f} " + " ".join(f"{c:>18}" for c in cells))
    print(machine_line())


if __name__ == "__main__":
    main()
