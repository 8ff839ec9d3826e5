"""`-v` on train: what the engine decided and why (device, precision, layout, threads, data), and
how long each phase took — debug lines of the `translate` logger."""
from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import torch

from translate.data import DataBundle
from translate.engine.config import EngineConfig

log = logging.getLogger("translate")


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """-v: how long each phase at the end of a run took."""
    t = time.perf_counter()
    yield
    log.debug(f"phase {name}: {time.perf_counter() - t:.2f} s")


def explain_setup(cfg: EngineConfig, device: torch.device, dtype: torch.dtype, channels_last: bool, dist: Any,
                   data: DataBundle) -> None:
    """-v: what was decided about device, precision, layout, threads and data, and why."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    if cfg.device != "auto":
        why = "asked for"
    elif device.type == "cuda":
        why = f"auto: CUDA is available ({torch.cuda.get_device_name(device)})"
    else:
        why = f"auto: {'MPS' if device.type == 'mps' else 'no CUDA or MPS here'}"
    log.debug(f"device {device} ({why}); {dist.world_size} process(es), rank {dist.rank}")
    name = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, str(dtype))
    log.debug(f"precision {name} (asked: {cfg.precision}); channels_last "
              f"{'on' if channels_last else 'off'} (asked: {cfg.channels_last}; auto is on for CUDA only)")
    omp = os.environ.get("OMP_NUM_THREADS")
    log.debug(f"threads: torch {torch.get_num_threads()} intra-op, {torch.get_num_interop_threads()} inter-op "
              f"({'OMP_NUM_THREADS=' + omp if omp else 'torch default'}; {os.cpu_count()} cores)")
    truth = data.ground_truth
    first = next(iter(truth.values()), None) if isinstance(truth, dict) else None
    held = int(first.shape[0]) if hasattr(first, "shape") and len(first.shape) else 0
    log.debug(f"data: {len(data.train):,} training items from {data.source}, {len(data.preview)} preview items, "
              f"{f'{held} held-out items with known answers' if held else 'no held-out truth'}"
              f"{', info ' + str(dict(data.info)) if data.info else ''}")
