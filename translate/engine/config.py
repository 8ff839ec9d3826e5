"""How to train (as opposed to the variant's recipe): devices, precision, cadence, outputs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from translate.variant import option


@dataclass
class EngineConfig:
    device: str = option("auto", "auto, cpu, cuda, cuda:N or mps")
    precision: str = option("fp32", "fp32, bf16 (CPU or GPU; no loss scaling needed), fp16 (GPU, with loss scaling) "
                                    "or auto (bf16 where it is native and fast, else fp32)",
                            choices=("fp32", "bf16", "fp16", "auto"))
    seed: int = option(0, "random seed (data order, augmentation, initialisation)", min=0)
    steps: int = option(0, "stop after this many steps (0 = the recipe's epochs + decay_epochs)", min=0)
    ckpt_every: int = option(1000, "write a checkpoint every N steps (and always at the end; 0 = only at the end)", min=0)
    keep_last: int = option(3, "keep this many most recent checkpoints (0 = all)", min=0)
    sample_every: int = option(500, "write a sample grid every N steps (0 = only at the end)", min=0)
    preview_count: int = option(4, "images per row in sample grids", min=1, max=64)
    log_every: int = option(10, "append losses to metrics.jsonl / TensorBoard every N steps", min=1)
    log_every_s: float = option(30.0, "outside a terminal, print a progress line every N seconds (0 = only at the end)",
                                min=0)
    num_workers: int = option(-1, "DataLoader worker processes (-1 = auto)", min=-1, max=256)
    ema: float = option(0.0, "decay of a generator weight EMA (0 = off; e.g. 0.999)", min=0, max=0.999999)
    grad_clip: float = option(0.0, "clip each optimizer's gradient norm to this (0 = off)", min=0)
    channels_last: Any = option("auto", "channels_last memory format for conv nets: auto (on for CUDA), true or false",
                                choices=("auto", "true", "false", True, False))
    compile: bool = option(False, "torch.compile the networks (falls back to eager with a warning)")
    sync_batchnorm: bool = option(False, "convert BatchNorm to SyncBatchNorm under DDP (CUDA)")
    tensorboard: bool = option(True, "write TensorBoard event files")
    loggers: str = option("tensorboard", "experiment trackers, comma-separated, any subset of tensorboard, mlflow, "
                                         "wandb (where to: MLFLOW_TRACKING_URI, WANDB_PROJECT, WANDB_MODE...)")
    progress: bool = option(True, "show progress: a bar in a terminal, a plain line every log_every_s elsewhere")
