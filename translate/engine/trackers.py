"""Experiment trackers beside metrics.jsonl: TensorBoard (the default, written by RunLog itself),
MLflow and Weights & Biases (`--set loggers=tensorboard,mlflow,wandb`, any subset).

A tracker gets what the run logs: losses (and LRs) by step, the resolved config as params, sample
grids as images, evaluation figures (`eval/NAME`), provenance as tags and, for MLflow, the exported
model (safetensors + JSON sidecar) as an artifact. Where to log comes from each library's own
environment variables (MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME; WANDB_PROJECT, WANDB_ENTITY,
WANDB_MODE, WANDB_DIR...). Only rank 0 makes trackers (RunLog is inactive elsewhere). A resumed
run continues the same tracker runs: their ids are kept in RUN/trackers.json.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from translate.errors import ConfigError

log = logging.getLogger("translate")
KNOWN = ("tensorboard", "mlflow", "wandb")
EXTRA = {"mlflow": "mlflow", "wandb": "wandb"}  # tracker -> pip extra of translate


def parse(value: Any) -> list[str]:
    """`loggers` → names, checked: known names, and the libraries of those asked for installed."""
    names = [n.strip().lower() for n in str(value or "").replace("+", ",").split(",") if n.strip()]
    for n in names:
        if n not in KNOWN:
            raise ConfigError(f"config key 'loggers': unknown logger '{n}'; known: {', '.join(KNOWN)} (any subset, "
                              "comma-separated)")
        if n in EXTRA and importlib.util.find_spec(n) is None:
            raise ConfigError(f"config key 'loggers': {n} is not installed: pip install 'translate[{EXTRA[n]}]'")
    return list(dict.fromkeys(names))


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{"model": {"lr": 2e-4}} → {"model.lr": "0.0002"} (params are strings to both libraries)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = "" if value is None else str(value)
    return out


def to_uint8(grid: Any) -> np.ndarray:
    """A [C, H, W] image in [0, 1] (make_grid's) → HxWx3 uint8."""
    arr = (grid.detach().float().clamp(0, 1).mul(255).add(0.5).floor().byte().cpu().numpy()).transpose(1, 2, 0)
    return np.repeat(arr, 3, -1) if arr.shape[-1] == 1 else arr


class MLflowTracker:
    name = "mlflow"

    def __init__(self, run_name: str, resume_id: str | None) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient()  # MLFLOW_TRACKING_URI, or mlflow's default
        existing = None
        if resume_id:
            try:
                existing = self.client.get_run(resume_id)
            except Exception:  # another tracking store now: start a new run
                existing = None
        if existing is not None:
            self.id = resume_id
            self.client.update_run(self.id, status="RUNNING")
        else:
            self.id = self.client.create_run(self._experiment(), run_name=run_name).info.run_id

    def _experiment(self) -> str:
        if os.environ.get("MLFLOW_EXPERIMENT_ID"):
            return os.environ["MLFLOW_EXPERIMENT_ID"]
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME")
        if not name:
            return "0"  # mlflow's Default experiment
        found = self.client.get_experiment_by_name(name)
        return found.experiment_id if found is not None else self.client.create_experiment(name)

    def params(self, flat: dict[str, str]) -> None:
        from mlflow.entities import Param

        items = [Param(k, v[:6000]) for k, v in flat.items()]
        for i in range(0, len(items), 100):  # mlflow takes at most 100 params a batch
            self.client.log_batch(self.id, params=items[i : i + 100])

    def metrics(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.id, metrics=[Metric(k, float(v), now, step) for k, v in values.items()])

    def image(self, key: str, image: np.ndarray, step: int) -> None:
        self.client.log_image(self.id, image, artifact_file=f"{key}/step_{step:08d}.png")

    def tags(self, tags: dict[str, str]) -> None:
        for k, v in tags.items():
            self.client.set_tag(self.id, k, v[:5000])

    def model(self, checkpoint: Path) -> None:
        from translate.inference.export import export_safetensors

        with tempfile.TemporaryDirectory() as tmp:
            export_safetensors(checkpoint, Path(tmp) / "model.safetensors")
            self.client.log_artifacts(self.id, tmp, "model")

    def close(self, status: str) -> None:
        self.client.set_terminated(self.id, {"done": "FINISHED", "stopped": "KILLED"}.get(status, "FAILED"))


class WandbTracker:
    name = "wandb"

    def __init__(self, run_name: str, resume_id: str | None) -> None:
        import wandb

        self.wandb = wandb
        self.run = wandb.init(name=run_name, id=resume_id or None, resume="allow" if resume_id else None,
                              reinit="create_new")  # WANDB_PROJECT, WANDB_MODE, WANDB_DIR... from the environment
        self.id = self.run.id

    def params(self, flat: dict[str, str]) -> None:
        self.run.config.update(flat, allow_val_change=True)

    def metrics(self, values: dict[str, float], step: int) -> None:
        self.run.log({k: float(v) for k, v in values.items()}, step=step)

    def image(self, key: str, image: np.ndarray, step: int) -> None:
        self.run.log({key: self.wandb.Image(image, caption=f"step {step:,}")}, step=step)

    def tags(self, tags: dict[str, str]) -> None:
        self.run.config.update({f"provenance.{k}": v for k, v in tags.items()}, allow_val_change=True)
        short = [f"translate {tags['translate.version']}"] if tags.get("translate.version") else []
        self.run.tags = tuple(dict.fromkeys([*self.run.tags, *(s[:64] for s in short)]))

    def model(self, checkpoint: Path) -> None:
        return None

    def close(self, status: str) -> None:
        self.run.finish(exit_code=0 if status in ("done", "stopped") else 1)


TRACKERS = {"mlflow": MLflowTracker, "wandb": WandbTracker}


def open_trackers(names: list[str], run_name: str, ids: dict[str, str]) -> list[Any]:
    """The external trackers asked for (TensorBoard is RunLog's own); one that cannot start is a
    warning line, never the end of the run."""
    out = []
    for n in names:
        if n not in TRACKERS:
            continue
        try:
            out.append(TRACKERS[n](run_name, ids.get(n)))
        except Exception as err:  # an unreachable server, a bad URI: the run's own logs go on
            log.warning(f"{n}: cannot start a tracker run ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
                        "not logging there")
    return out


def call(trackers: list[Any], method: str, *args: Any) -> None:
    """`method` on every tracker; a tracker that fails is dropped with one warning line."""
    for t in list(trackers):
        try:
            getattr(t, method)(*args)
        except Exception as err:
            log.warning(f"{t.name}: {method} failed ({type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}); "
                        "not logging there any more")
            trackers.remove(t)
