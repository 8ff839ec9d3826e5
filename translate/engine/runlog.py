"""What a run writes while it trains: metrics.jsonl and TensorBoard (and MLflow / W&B when asked:
`engine.trackers`), sample grids (with their row labels), the gallery, the summary. Paths come
from `translate.jobs.rundir.RunDir`.

Only the main process (rank 0) writes; other ranks get a RunLog with `active=False`.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
import torchvision.utils as vutils

from translate.engine import trackers as TR
from translate.files import atomic_write
from translate.jobs.rundir import RunDir


class RunLog:
    def __init__(self, path: str | Path, active: bool = True, tensorboard: bool = True,
                 loggers: str = "tensorboard") -> None:
        self.dir = RunDir(path)
        self.path = self.dir.path
        self.active = active
        names = TR.parse(loggers)
        self._tb = None
        self._want_tb = tensorboard and "tensorboard" in names
        self._tracker_names = [n for n in names if n in TR.TRACKERS] if active else []
        self._trackers_list: list[Any] | None = None
        self.provenance: dict[str, Any] = {}
        if active:
            for sub in (self.dir.checkpoints_dir, self.dir.samples_dir):
                sub.mkdir(parents=True, exist_ok=True)

    def trackers(self) -> list[Any]:
        """The MLflow / W&B runs (opened on first use; a resumed run continues its own)."""
        if self._trackers_list is None:
            self._trackers_list = []
            if self._tracker_names:
                ids = self.dir.read_json(self.dir.trackers_path)
                self._trackers_list = TR.open_trackers(self._tracker_names, self.dir.name, ids)
                if self._trackers_list:
                    self.dir.write_json(self.dir.trackers_path, {**ids, **{t.name: t.id for t in self._trackers_list}})
        return self._trackers_list

    def write_config(self, config: dict[str, Any]) -> None:
        if self.active:
            self.dir.write_config(config)
            TR.call(self.trackers(), "params", TR.flatten(config))
            tb = self._writer()
            if tb is not None:  # the resolved config beside the curves, so runs compare side by side
                tb.add_text("config", "```\n" + self.dir.config_path.read_text() + "\n```", 0)

    def hparams(self, config: dict[str, Any], figures: dict[str, float]) -> None:
        """The run's scalar config values and its evaluation figures as TensorBoard hparams."""
        tb = self._writer()
        if not self.active or tb is None or not figures:
            return
        values = {k: v for k, v in config.items() if isinstance(v, (int, float, str, bool)) and v != ""}
        tb.add_hparams(values, {f"eval/{k}": float(v) for k, v in figures.items()}, run_name=".")

    def start_session(self, data: str | None, overrides: dict[str, Any]) -> None:
        """provenance.json: one entry per session (the start, then each resume with its --set values)."""
        from translate.jobs.provenance import record

        self.provenance = record(data)
        if overrides:
            self.provenance["overrides"] = {k: str(v) for k, v in overrides.items()}
        if self.active:
            TR.call(self.trackers(), "tags", {"translate.version" if k == "translate" else f"translate.{k}": v
                                              for k, v in TR.flatten(self.provenance).items()})
            sessions = self.dir.read_json(self.dir.provenance_path).get("sessions", [])
            self.dir.write_json(self.dir.provenance_path, {"sessions": [*sessions, self.provenance]})

    def end_session(self, step: int, interrupted: bool) -> None:
        if not self.active or not self.provenance:
            return
        from translate.jobs.provenance import now

        self.provenance.update(ended=now(), final_step=step, interrupted=interrupted)
        sessions = self.dir.read_json(self.dir.provenance_path).get("sessions", [])
        if sessions and sessions[-1].get("time") == self.provenance.get("time"):
            sessions[-1] = self.provenance
        self.dir.write_json(self.dir.provenance_path, {"sessions": sessions or [self.provenance]})

    def truncate_after(self, step: int) -> None:
        """metrics.jsonl without the records of steps after `step` (logged by a session that then
        stopped before its next checkpoint): after any number of resumes, one line per step."""
        if not self.active or not self.dir.metrics_path.is_file():
            return
        lines = self.dir.metrics_path.read_text().splitlines()
        kept = []
        for line in lines:
            try:
                if json.loads(line).get("step", 0) > step:
                    continue
            except ValueError:
                continue  # a half-written last line
            kept.append(line)
        if len(kept) != len(lines):
            atomic_write(self.dir.metrics_path, "".join(f"{line}\n" for line in kept))

    def log(self, step: int, values: dict[str, float], **extra: Any) -> None:
        if not self.active:
            return
        record = {"step": step, **extra, **{k: float(f"{float(v):.7g}") for k, v in values.items()}, "time": time.time()}
        with open(self.dir.metrics_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        prefix = "eval/" if extra.get("kind") == "eval" else ""
        TR.call(self.trackers(), "metrics", {f"{prefix}{k}": float(v) for k, v in values.items()}, step)
        tb = self._writer()
        if tb is not None:
            for key, value in values.items():
                tb.add_scalar(key, float(value), step)

    def _writer(self):  # noqa: ANN202 - optional dependency
        if self._tb is None and self._want_tb:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(log_dir=str(self.dir.tensorboard_dir))
            except Exception:  # tensorboard missing or broken: metrics.jsonl still has everything
                self._want_tb = False
        return self._tb

    def save_samples(self, step: int, rows: list[Any], value_range: tuple[float, float], epoch: int = 0) -> Path | None:
        """A PNG grid with one row per entry of `rows` ((label, tensor) pairs, or bare tensors),
        its labels in a JSON file beside it; refreshes index.html."""
        if not self.active or not rows:
            return None
        labelled = [r if isinstance(r, tuple) else (f"row {i + 1}", r) for i, r in enumerate(rows)]
        tensors = [t for _, t in labelled]
        n = max(r.shape[0] for r in tensors)
        channels = max(r.shape[1] for r in tensors)
        tiles = [r.detach().float().cpu().expand(-1, channels, -1, -1) for r in tensors]
        grid = vutils.make_grid(torch.cat(tiles), nrow=n, normalize=True, value_range=value_range, pad_value=1.0)
        path = self.dir.sample_path(step)
        atomic_write(path, lambda fh: vutils.save_image(grid, fh, format="png"))
        info = {"step": step, "epoch": epoch, "rows": [label for label, _ in labelled], "columns": n,
                "tile": [int(tensors[0].shape[-2]), int(tensors[0].shape[-1])], "padding": 2}
        atomic_write(path.with_suffix(".json"), json.dumps(info))
        tb = self._writer()
        if tb is not None:
            tb.add_image("samples", grid, step)
        if self.trackers():
            TR.call(self.trackers(), "image", "samples", TR.to_uint8(grid), step)
        self.write_gallery()
        return path

    def write_gallery(self, summary: dict[str, Any] | None = None) -> None:
        if not self.active:
            return
        if summary is not None:
            self.dir.write_json(self.dir.summary_path, summary)
        from translate.jobs.gallery import write_run_gallery

        write_run_gallery(self.dir)

    def log_model(self, checkpoint: Path | None) -> None:
        """The trained model, exported (safetensors + sidecar), to the trackers that keep files."""
        if self.active and checkpoint is not None:
            TR.call(self.trackers(), "model", checkpoint)

    def close(self, status: str = "done") -> None:
        """status: done, stopped (interrupted) or failed."""
        for t in self._trackers_list or []:
            TR.call([t], "close", status)
        self._trackers_list = [] if self._trackers_list is not None else None
        if self._tb is not None:
            self._tb.close()
            self._tb = None
