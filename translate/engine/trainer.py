"""The training loop: owns phases, devices, precision, stepping, schedules, EMA, checkpoints,
resume, progress, logging and samples. Variants own only the math (`train_step`).
"""
from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from translate import config as C
from translate.data import DataBundle
from translate.data.sampler import EpochSampler
from translate.engine import checkpoint as ckpt
from translate.engine import distributed as D
from translate.engine.config import EngineConfig
from translate.engine.device import autocast, resolve_device, resolve_precision
from translate.engine.ema import EMA, _unwrap
from translate.engine.progress import ProgressBar
from translate.engine.rundir import RunDir
from translate.engine.schedule import lr_factor
from translate.engine.step import Step
from translate.errors import ConfigError, WeightsError
from translate.variant import Variant, VariantConfig

CKPT_FORMAT = "translate.checkpoint/1"


@dataclasses.dataclass
class Progress:
    step: int = 0  # optimizer steps done
    epoch: int = 0
    batch_in_epoch: int = 0  # batches of the current epoch already consumed


class Trainer:
    def __init__(
        self,
        variant_cls: type[Variant],
        model_cfg: VariantConfig,
        engine_cfg: EngineConfig,
        data: DataBundle,
        run_dir: str | Path,
        resume_from: str | Path | None = None,
    ) -> None:
        self.variant_cls, self.model_cfg, self.cfg, self.data = variant_cls, model_cfg, engine_cfg, data
        self.device = resolve_device(engine_cfg.device)
        self.dtype = resolve_precision(engine_cfg.precision, self.device)
        self.dist = D.init_from_env(self.device.type)
        ckpt.seed_everything(engine_cfg.seed + self.dist.rank)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
            torch.backends.cudnn.benchmark = True
        self.run = RunDir(run_dir, active=self.dist.is_main, tensorboard=engine_cfg.tensorboard)
        self.progress = Progress()
        self._stop = threading.Event()

        self.variant = variant_cls(model_cfg)
        nets = self.variant.build(model_cfg)
        memory = torch.channels_last if engine_cfg.channels_last else torch.contiguous_format
        self.plain_nets = {k: n.to(self.device, memory_format=memory) for k, n in nets.items()}
        self.optimizers = self.variant.optimizers(self.plain_nets, model_cfg)
        factor = lr_factor(model_cfg.lr_schedule, model_cfg.epochs, model_cfg.decay_epochs)
        self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(o, factor) for k, o in self.optimizers.items()}
        self.scalers = (
            {k: torch.amp.GradScaler(self.device.type) for k in self.optimizers} if self.dtype is torch.float16 else {}
        )
        ema_nets = {k: self.plain_nets[k] for k in self.variant.ema_nets if k in self.plain_nets}
        self.ema = EMA(ema_nets, engine_cfg.ema) if engine_cfg.ema > 0 and ema_nets else None
        self.nets = D.wrap(self.plain_nets, self.device, self.dist, engine_cfg.sync_batchnorm)
        self.nets = self._maybe_compile(self.nets)
        self.variant.nets, self.variant.device = self.nets, self.device
        self.step = Step(self.optimizers, self.scalers, engine_cfg.grad_clip)

        self.sampler = EpochSampler(len(data.train), engine_cfg.seed, True, self.dist.rank, self.dist.world_size)
        self.batches_per_epoch = self.sampler.per_rank() // model_cfg.batch_size
        if self.batches_per_epoch == 0:
            raise ConfigError(
                f"batch_size {model_cfg.batch_size} is larger than the data ({len(data.train)} items per process)"
            )
        total_epochs = model_cfg.epochs + model_cfg.decay_epochs
        self.total_steps = engine_cfg.steps or total_epochs * self.batches_per_epoch
        if resume_from is not None:
            self._resume(resume_from)

    # --- setup helpers -----------------------------------------------------------------
    def _maybe_compile(self, nets: dict[str, torch.nn.Module]) -> dict[str, torch.nn.Module]:
        if not self.cfg.compile:
            return nets
        try:
            return {k: torch.compile(n) for k, n in nets.items()}
        except Exception as err:  # unsupported platform/backend: keep eager
            import warnings

            warnings.warn(f"torch.compile unavailable ({err}); training eagerly", stacklevel=2)
            return nets

    def _loader(self) -> DataLoader:
        workers = self.cfg.num_workers
        if workers < 0:
            workers = 0 if self.data.in_memory else min(4, max(1, (torch.get_num_threads() or 2) - 1))
        self.sampler.set_epoch(self.progress.epoch, self.progress.batch_in_epoch * self.model_cfg.batch_size)
        return DataLoader(
            self.data.train,
            batch_size=self.model_cfg.batch_size,
            sampler=self.sampler,
            num_workers=workers,
            drop_last=True,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=4 if workers > 0 else None,
            generator=torch.Generator(),  # keep the global RNG untouched by loader seeding
        )

    # --- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "format": CKPT_FORMAT,
            "variant": self.variant_cls.name,
            "config": {"engine": C.to_plain(self.cfg), "model": C.to_plain(self.model_cfg)},
            "nets": {k: _unwrap(n).state_dict() for k, n in self.plain_nets.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scalers": {k: s.state_dict() for k, s in self.scalers.items()},
            "ema": self.ema.state_dict() if self.ema else None,
            "variant_state": self.variant.state_dict(),
            "rng": ckpt.rng_state(),
            "progress": dataclasses.asdict(self.progress),
            "data": {"source": self.data.source, **self.data.info},
            "world_size": self.dist.world_size,
        }

    def _resume(self, source: str | Path) -> None:
        path = Path(source)
        if path.is_dir():
            found = ckpt.latest(path / "checkpoints") or ckpt.latest(path)
            if found is None:
                raise WeightsError(f"no checkpoint to resume in {path}")
            path = found
        state = ckpt.load_checkpoint(path, map_location=self.device)
        if state.get("format") != CKPT_FORMAT:
            raise WeightsError(f"{path} is not a translate training checkpoint")
        for key, net in self.plain_nets.items():
            _load_net(net, state["nets"], key, path)
        for key, opt in self.optimizers.items():
            if key in state["optimizers"]:
                opt.load_state_dict(state["optimizers"][key])
        for key, sched in self.schedulers.items():
            if key in state["schedulers"]:
                sched.load_state_dict(state["schedulers"][key])
        for key, scaler in self.scalers.items():
            if key in state.get("scalers", {}):
                scaler.load_state_dict(state["scalers"][key])
        if self.ema is not None and state.get("ema"):
            self.ema.load_state_dict(state["ema"])
        self.variant.load_state_dict(state.get("variant_state") or {})
        self.progress = Progress(**state["progress"])
        if state.get("world_size", 1) == self.dist.world_size:
            ckpt.set_rng_state(state["rng"])
        else:  # another world size: the data split changes anyway; restart this epoch's order
            self.progress.batch_in_epoch = min(self.progress.batch_in_epoch, self.batches_per_epoch)
        self.resumed_from = path

    def save(self) -> Path | None:
        if not self.run.active:
            return None
        return ckpt.save_checkpoint(self.state_dict(), self.run.checkpoints, self.progress.step, self.cfg.keep_last)

    # --- the loop ------------------------------------------------------------------------
    def _batches(self) -> Iterator[Any]:
        """Batches until total_steps, advancing epochs (and the per-epoch LR schedule)."""
        while self.progress.step < self.total_steps:
            if self.progress.batch_in_epoch >= self.batches_per_epoch:
                self._end_epoch()
                continue
            for batch in self._loader():
                yield batch
                if self.progress.step >= self.total_steps or self._stop.is_set():
                    return
            if self.progress.batch_in_epoch >= self.batches_per_epoch:
                self._end_epoch()

    def _end_epoch(self) -> None:
        self.progress.epoch += 1
        self.progress.batch_in_epoch = 0
        for sched in self.schedulers.values():
            sched.step()

    def fit(self) -> dict[str, Any]:
        """Train to `total_steps`; Ctrl-C finishes the current step, saves, and returns."""
        cfg = self.cfg
        preview = self._preview_batch()
        restore = self._install_sigint()
        bar = ProgressBar(self.total_steps, self.progress.step, enabled=cfg.progress and self.run.active)
        losses: dict[str, float] = {}
        t0, start_step = time.time(), self.progress.step
        try:
            with bar:
                for batch in self._batches():
                    batch = _to_device(batch, self.device, cfg.channels_last)
                    self.step.index, self.step.epoch = self.progress.step, self.progress.epoch
                    for net in self.nets.values():
                        net.train()
                    with autocast(self.device, self.dtype):
                        out = self.variant.train_step(batch, self.step)
                    if self.ema is not None:
                        self.ema.update(self.plain_nets)
                    self.progress.step += 1
                    self.progress.batch_in_epoch += 1
                    step = self.progress.step
                    losses = {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in out.items()}
                    bar.advance(losses)
                    if step % cfg.log_every == 0 or step == self.total_steps:
                        lrs = {f"lr/{k}": o.param_groups[0]["lr"] for k, o in self.optimizers.items()}
                        self.run.log(step, {**losses, **lrs}, epoch=self.progress.epoch)
                    if cfg.sample_every and step % cfg.sample_every == 0:
                        self.write_samples(preview)
                    if cfg.ckpt_every and step % cfg.ckpt_every == 0:
                        self.save()
                    if self._stop.is_set():
                        break
        finally:
            restore()
        interrupted = self._stop.is_set() and self.progress.step < self.total_steps
        path = self.save()
        self.write_samples(preview)
        summary: dict[str, Any] = {
            "steps": self.progress.step,
            "total_steps": self.total_steps,
            "seconds": round(time.time() - t0, 2),
            "steps_per_second": round((self.progress.step - start_step) / max(1e-9, time.time() - t0), 3),
            "interrupted": interrupted,
            "checkpoint": str(path) if path else None,
            **{f"loss/{k}": round(v, 5) for k, v in losses.items()},
        }
        if not interrupted and self.data.ground_truth is not None:
            scores = self.evaluate()
            summary.update(scores)
            self.run.log(self.progress.step, scores, kind="eval")
        self.run.write_gallery(summary)
        self.run.close()
        D.barrier(self.dist)
        return summary

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        for net in self.nets.values():
            net.eval()
        with autocast(self.device, self.dtype):
            scores = self.variant.evaluate(_to_device(self.data.ground_truth, self.device, False))
        return {k: round(float(v), 4) for k, v in scores.items()}

    def _preview_batch(self) -> Any:
        n = min(self.cfg.preview_count, len(self.data.preview))
        items = [self.data.preview[i] for i in range(n)]
        return torch.utils.data.default_collate(items) if items else None

    @torch.no_grad()
    def write_samples(self, preview: Any) -> None:
        if preview is None or not self.run.active:
            return
        for net in self.nets.values():
            net.eval()
        with autocast(self.device, self.dtype):
            rows = self.variant.sample_rows(_to_device(preview, self.device, self.cfg.channels_last))
        self.run.save_samples(self.progress.step, rows, self.variant.value_range)

    def _install_sigint(self):  # noqa: ANN202
        """First Ctrl-C: finish this step, save, stop. Second Ctrl-C: stop at once."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):  # noqa: ANN001
            if self._stop.is_set():
                raise KeyboardInterrupt
            self._stop.set()

        signal.signal(signal.SIGINT, handler)
        return lambda: signal.signal(signal.SIGINT, previous)

    def request_stop(self) -> None:
        self._stop.set()


def _load_net(net: torch.nn.Module, states: dict[str, Any], key: str, path: Path) -> None:
    if key not in states:
        raise WeightsError(f"{path} has no weights for net '{key}' (has: {', '.join(sorted(states))})")
    from translate.weights import load_into

    load_into(net, states[key], f"{path}:{key}")


def _to_device(batch: Any, device: torch.device, channels_last: bool) -> Any:
    if isinstance(batch, torch.Tensor):
        batch = batch.to(device, non_blocking=True)
        if channels_last and batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, dict):
        return {k: _to_device(v, device, channels_last) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device, channels_last) for v in batch)
    return batch

