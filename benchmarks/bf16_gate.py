"""Does bf16 training keep the quality? The built-in demo trained in fp32 and in bf16 (prints figures; not a test).

    python benchmarks/bf16_gate.py                        # CycleGAN demo, same seed, both precisions
    python benchmarks/bf16_gate.py --variant discogan --steps 400

Each run is `translate train VARIANT --precision P --seed S` on the variant's demo data (its
held-out ground truth gives PSNR figures); the gate passes when every ground-truth PSNR of the
bf16 run is at most --tolerance dB below the fp32 run's (translate.jobs.evaluate.quality_gate).
Wall time of each run is printed too: the demo is small (32 px), so its bf16 speed-up is not
the 256² one (see benchmarks/train_step.py).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402

from translate.jobs.evaluate import quality_gate  # noqa: E402


def final_eval(run: Path) -> dict[str, float]:
    """The last eval record of a run's metrics.jsonl."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    evals = [r for r in rows if r.get("kind") == "eval"]
    if not evals:
        raise SystemExit(f"{run}: no eval record in metrics.jsonl")
    return {k: v for k, v in evals[-1].items() if isinstance(v, float) and k != "time"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", default="cyclegan")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=None, help="stop each run after this many steps (default: the demo's)")
    ap.add_argument("--tolerance", type=float, default=0.3, help="largest acceptable PSNR drop in dB")
    a = ap.parse_args()
    print(machine_line(), flush=True)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("fp32", "bf16"):
            cmd = [sys.executable, "-m", "translate", "-q", "train", a.variant, "--precision", precision,
                   "--seed", str(a.seed), "--runs-dir", tmp, "--name", precision]
            if a.steps:
                cmd += ["--steps", str(a.steps)]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode:
                raise SystemExit(f"{' '.join(cmd)} failed:\n{(proc.stdout + proc.stderr)[-2000:]}")
            results[precision] = final_eval(Path(tmp) / precision)
            figures = ", ".join(f"{k} {v:.2f}" for k, v in results[precision].items())
            print(f"{precision}: {time.perf_counter() - t0:.0f} s wall; {figures}", flush=True)
    gate = quality_gate(results["fp32"], results["bf16"], a.tolerance)
    drops = ", ".join(f"{k} {v:+.2f} dB" for k, v in gate["drops"].items())
    print(f"quality gate (bf16 at most {a.tolerance} dB below fp32): {'PASS' if gate['ok'] else 'FAIL'}; "
          f"fp32 - bf16: {drops}")
    print(machine_line())
    sys.exit(0 if gate["ok"] else 1)


if __name__ == "__main__":
    main()
