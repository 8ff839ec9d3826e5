"""How to train (as opposed to the variant's recipe): devices, precision, cadence, outputs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from translate.variant import option


@dataclass
class EngineConfig:
    device: str = option("auto", "auto, cpu, cuda, cuda:N or mps")
    precision: str = option("fp32", "fp32, bf16 (CPU or GPU; no loss scaling needed) or fp16 (GPU, with loss scaling)")
    seed: int = option(0, "random seed (data order, augmentation, initialisation)")
    steps: int = option(0, "stop after this many steps (0 = the recipe's epochs + decay_epochs)")
    ckpt_every: int = option(1000, "write a checkpoint every N steps (and always at the end)")
    keep_last: int = option(3, "keep this many most recent checkpoints (0 = all)")
    sample_every: int = option(500, "write a sample grid every N steps (0 = only at the end)")
    preview_count: int = option(4, "images per row in sample grids")
    log_every: int = option(10, "append losses to metrics.jsonl / TensorBoard every N steps")
    num_workers: int = option(-1, "DataLoader worker processes (-1 = auto)")
    ema: float = option(0.0, "decay of a generator weight EMA (0 = off; e.g. 0.999)")
    grad_clip: float = option(0.0, "clip each optimizer's gradient norm to this (0 = off)")
    channels_last: Any = option("auto", "channels_last memory format for conv nets: auto (on for CUDA and for bf16 on CPU), true or false")
    compile: bool = option(False, "torch.compile the networks (falls back to eager with a warning)")
    sync_batchnorm: bool = option(False, "convert BatchNorm to SyncBatchNorm under DDP (CUDA)")
    tensorboard: bool = option(True, "write TensorBoard event files")
    progress: bool = option(True, "show a progress bar")
