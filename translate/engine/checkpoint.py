"""Checkpoints: atomic writes, keep-last-k, RNG capture — everything needed for exact resume.

A checkpoint is one `torch.save` dict of tensors and plain values, so it loads with
`torch.load(weights_only=True)`: loading never executes code.
"""
from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from translate.errors import WeightsError
from translate.files import atomic_write, load_torch
from translate.jobs.rundir import RunDir

log = logging.getLogger("translate")

def atomic_save(obj: Any, path: str | Path) -> Path:
    """`torch.save` to a temp file in the same folder, fsync, then rename over `path`."""
    return atomic_write(path, lambda fh: torch.save(obj, fh), fsync=True)


def save_checkpoint(state: dict[str, Any], run: RunDir, step: int, keep_last: int = 3) -> Path:
    """RUN/checkpoints/step_N.pt, then only the newest `keep_last` kept (0 = all)."""
    path = atomic_save(state, run.checkpoint_path(step))
    if keep_last > 0:
        for old in run.checkpoints()[:-keep_last]:
            old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return load_torch(path, "checkpoint", map_location)


def newest_valid(source: Path, map_location: str | torch.device = "cpu") -> tuple[Path, dict[str, Any]]:
    """A checkpoint file as it is; for a run directory the newest checkpoint that reads — a
    truncated or empty newest one (a crash mid-write) is skipped, saying so."""
    if not source.is_dir():
        return source, load_checkpoint(source, map_location=map_location)
    found = RunDir(source).checkpoints()
    if not found:
        raise WeightsError(f"no checkpoint to resume in {source}")
    for path in reversed(found):
        try:
            return path, load_checkpoint(path, map_location=map_location)
        except WeightsError as err:
            log.warning(f"skipped {path.name}: {err}")
    raise WeightsError(f"no readable checkpoint in {source / 'checkpoints'} ({len(found)} found, all unreadable)")


def rng_state() -> dict[str, Any]:
    """torch (CPU and CUDA), numpy and python RNG states, as weights_only-safe values."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": _py_state_to_plain(random.getstate()),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())  # (a checkpoint loaded with map_location=cuda)
    npst = state["numpy"]
    keys = npst["keys"].cpu().numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, npst["pos"], npst["has_gauss"], npst["gauss"]))
    random.setstate(_plain_to_py_state(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([t.cpu() for t in cuda])


def _py_state_to_plain(st: tuple) -> list:
    version, internal, gauss = st
    return [version, list(internal), gauss]


def _plain_to_py_state(st: list) -> tuple:
    version, internal, gauss = st
    return (version, tuple(internal), gauss)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
