"""The run directory: config, checkpoints, metrics.jsonl, TensorBoard events, samples, gallery.

Only the main process (rank 0) writes; other ranks get a RunDir with `active=False`.
"""
from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

import torch
import torchvision.utils as vutils
import yaml

from translate.files import atomic_write


class RunDir:
    def __init__(self, path: str | Path, active: bool = True, tensorboard: bool = True) -> None:
        self.path = Path(path)
        self.active = active
        self._tb = None
        self._want_tb = tensorboard
        if active:
            for sub in ("checkpoints", "samples"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def write_config(self, config: dict[str, Any]) -> None:
        if self.active:
            atomic_write(self.path / "config.yaml", yaml.safe_dump(config, sort_keys=False))

    def log(self, step: int, values: dict[str, float], **extra: Any) -> None:
        if not self.active:
            return
        record = {"step": step, **extra, **{k: float(f"{float(v):.7g}") for k, v in values.items()}, "time": time.time()}
        with open(self.path / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")
        tb = self._writer()
        if tb is not None:
            for key, value in values.items():
                tb.add_scalar(key, float(value), step)

    def _writer(self):  # noqa: ANN202 - optional dependency
        if self._tb is None and self._want_tb:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(log_dir=str(self.path / "tb"))
            except Exception:  # tensorboard missing or broken: metrics.jsonl still has everything
                self._want_tb = False
        return self._tb

    def save_samples(self, step: int, rows: list[torch.Tensor], value_range: tuple[float, float]) -> Path | None:
        """A PNG grid with one row per tensor in `rows`; refreshes index.html."""
        if not self.active or not rows:
            return None
        n = max(r.shape[0] for r in rows)
        channels = max(r.shape[1] for r in rows)
        tiles = [r.detach().float().cpu().expand(-1, channels, -1, -1) for r in rows]
        grid = vutils.make_grid(torch.cat(tiles), nrow=n, normalize=True, value_range=value_range, pad_value=1.0)
        path = self.path / "samples" / f"step_{step:08d}.png"
        vutils.save_image(grid, path)
        tb = self._writer()
        if tb is not None:
            tb.add_image("samples", grid, step)
        self.write_gallery()
        return path

    def write_gallery(self, summary: dict[str, Any] | None = None) -> None:
        if not self.active:
            return
        if summary is not None:
            atomic_write(self.path / "summary.json", json.dumps(summary, indent=2))
        elif (self.path / "summary.json").is_file():
            summary = json.loads((self.path / "summary.json").read_text())
        images = sorted((self.path / "samples").glob("step_*.png"), reverse=True)
        rows = "\n".join(
            f'<figure><img src="samples/{p.name}" alt="{p.stem}"><figcaption>{html.escape(p.stem)}</figcaption></figure>'
            for p in images
        )
        table = ""
        if summary:
            table = "<table>" + "".join(
                f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items()
            ) + "</table>"
        page = (
            "<!doctype html><meta charset='utf-8'><title>" + html.escape(self.path.name) + "</title>"
            "<style>body{font-family:sans-serif;margin:2em}img{image-rendering:pixelated;max-width:100%}"
            "figure{margin:0 0 2em}td,th{padding:2px 8px;text-align:left}</style>"
            f"<h1>{html.escape(self.path.name)}</h1>{table}{rows}"
        )
        atomic_write(self.path / "index.html", page)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
