"""The training loop: owns phases, devices, precision, stepping, schedules, EMA, checkpoints,
resume, progress, logging and samples. Variants own only the math (`train_step`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
import math
import os
import re
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch
from torch.utils.data import DataLoader

from translate import config as C
from translate.data import DataBundle
from translate.data.sampler import EpochSampler
from translate.device import autocast, resolve_channels_last, resolve_device, resolve_precision, to_device
from translate.engine import checkpoint as ckpt
from translate.engine import distributed as D
from translate.engine.compile import compile_nets
from translate.engine.config import EngineConfig
from translate.engine.datainit import data_dependent_nets
from translate.engine.ema import EMA, _unwrap
from translate.engine.explain import explain_setup as _explain_setup
from translate.engine.explain import phase as _phase
from translate.engine.runlog import RunLog
from translate.engine.step import Step
from translate.engine.warmstart import start_from
from translate.errors import ConfigError, PluginError, WeightsError
from translate.kit.figures import explanations
from translate.jobs.progress import Progress as Report
from translate.variant import Variant, VariantConfig

CKPT_FORMAT = "translate.checkpoint/1"
log = logging.getLogger("translate")


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
        t_setup = time.perf_counter()
        self.variant_cls, self.model_cfg, self.cfg, self.data = variant_cls, model_cfg, engine_cfg, data
        self.device = resolve_device(engine_cfg.device)
        if self.device.type == "cuda":  # before the process group: NCCL uses the current device
            torch.cuda.set_device(self.device)
            torch.backends.cudnn.benchmark = True
        self.dist = D.init_from_env(self.device.type)
        self.dtype = resolve_precision(engine_cfg.precision, self.device)
        self.channels_last = resolve_channels_last(engine_cfg.channels_last, self.device, self.dtype)
        _explain_setup(engine_cfg, self.device, self.dtype, self.channels_last, self.dist, data)
        ckpt.seed_everything(engine_cfg.seed + self.dist.rank)
        run_dir = D.broadcast_object(str(run_dir), self.dist)  # ranks agree on rank 0's folder
        self.run = RunLog(run_dir, active=self.dist.is_main, tensorboard=engine_cfg.tensorboard, loggers=engine_cfg.loggers)
        self.progress = Progress()
        self._stop = threading.Event()
        self._dl: DataLoader | None = None
        self._sampled_at = -1

        self.variant = variant_cls(model_cfg)
        _check_contract(self.variant)
        self.sampler = EpochSampler(len(data.train), engine_cfg.seed, True, self.dist.rank, self.dist.world_size)
        self.batches_per_epoch = self.sampler.per_rank() // model_cfg.batch_size
        if self.batches_per_epoch == 0:
            raise ConfigError(
                f"batch_size {model_cfg.batch_size} is larger than the data ({len(data.train)} items per process)"
            )
        nets = self.variant.build(model_cfg)
        self.memory = memory = torch.channels_last if self.channels_last else torch.contiguous_format
        self.plain_nets = {k: n.to(self.device, memory_format=memory) for k, n in nets.items()}
        # nets shaped by the data (CUT's MLP heads): from the run's first batch, before anything
        # else sees the nets, so from here on they are nets like the others (resume included)
        self.plain_nets.update(data_dependent_nets(self.variant, self.plain_nets, self.data.train, self.sampler,
                                                   self.device, self.channels_last))
        if engine_cfg.sync_batchnorm:
            self.plain_nets = D.sync_batchnorm(self.plain_nets, self.device, self.dist)
        self.started_from: list[str] = []
        if resume_from is None and getattr(model_cfg, "init_from", ""):  # fresh runs only
            self.started_from = start_from(model_cfg.init_from, self.plain_nets,
                                           self.variant.translators(self.plain_nets))
        # frozen training-only modules (loss networks): on the device, never in a checkpoint
        self.aux = {k: m.eval().requires_grad_(False).to(self.device, memory_format=memory)
                    for k, m in self.variant.auxiliary(model_cfg).items()}
        clash = sorted(set(self.aux) & set(self.plain_nets))
        if clash:
            raise PluginError(f"variant '{variant_cls.name}': auxiliary module '{clash[0]}' has the name of a net")
        self.optimizers = self.variant.optimizers(MappingProxyType(self.plain_nets), model_cfg)
        self.schedulers = _schedulers(self.optimizers, self.variant.lr_lambda(model_cfg))
        self.scalers = (
            {k: torch.amp.GradScaler(self.device.type) for k in self.optimizers} if self.dtype is torch.float16 else {}
        )
        ema_nets = {k: self.plain_nets[k] for k in self.variant.ema_nets if k in self.plain_nets}
        self.ema = EMA(ema_nets, engine_cfg.ema) if engine_cfg.ema > 0 and ema_nets else None
        # what runs: compiled (if asked) and, for training, DDP-wrapped; samples and
        # evaluation (rank 0 alone, no gradients) use the nets without DDP
        self.eval_nets = compile_nets(self.plain_nets) if engine_cfg.compile else dict(self.plain_nets)
        self.nets = D.wrap(self.eval_nets, self.device, self.dist)
        # what the variant is handed (never assigned onto it): nets + auxiliary modules, read-only
        self.train_view = MappingProxyType({**self.nets, **self.aux})
        self.eval_view = MappingProxyType({**self.eval_nets, **self.aux})
        self.step = Step(self.optimizers, self.scalers, engine_cfg.grad_clip, self.device)

        self.total_epochs = model_cfg.epochs + model_cfg.decay_epochs
        self.total_steps = engine_cfg.steps or self.total_epochs * self.batches_per_epoch
        if resume_from is not None:
            self._resume(resume_from)
        for key, net in self.plain_nets.items():
            log.debug(f"net {key}: {type(_unwrap(net)).__name__}, {sum(p.numel() for p in net.parameters()):,} parameters")
        log.debug(f"plan: {self.total_steps:,} steps ({self.batches_per_epoch:,} batches of {model_cfg.batch_size} per "
                  f"epoch{'' if engine_cfg.steps else f', {self.total_epochs} epochs'}), EMA "
                  f"{'of ' + ', '.join(self.ema.shadow) if self.ema else 'off'}; setup took "
                  f"{time.perf_counter() - t_setup:.2f} s")

    # --- setup helpers -----------------------------------------------------------------
    def _workers(self) -> int:
        n, why = self._workers_and_why()
        log.debug(f"DataLoader workers: {n} ({why})")
        return n

    def _workers_and_why(self) -> tuple[int, str]:
        if self.cfg.num_workers >= 0:
            return self.cfg.num_workers, "num_workers set"
        if self.data.in_memory:
            return 0, "the data is in memory: workers would only add overhead"
        if self.device.type == "cuda":  # keep the GPU fed: workers from this process's share of cores
            return (min(8, max(1, (os.cpu_count() or 2) // self.dist.local_world_size - 1)),
                    f"CUDA: this process's share of {os.cpu_count()} cores, one left for the main process, at most 8")
        return (min(4, max(1, (torch.get_num_threads() or 2) - 1)),
                f"CPU: {torch.get_num_threads()} torch threads less one for the main process, at most 4")

    def _loader(self) -> DataLoader:
        """One DataLoader for the run (workers persist across epochs); each epoch's order and
        resume point are set on the sampler, which the loader reads at every `iter()`."""
        self.sampler.set_epoch(self.progress.epoch, self.progress.batch_in_epoch * self.model_cfg.batch_size)
        if self._dl is None:
            workers = self._workers()
            cuda = self.device.type == "cuda"
            self._dl = DataLoader(
                self.data.train,
                batch_size=self.model_cfg.batch_size,
                sampler=self.sampler,
                num_workers=workers,
                drop_last=True,
                pin_memory=cuda,
                persistent_workers=workers > 0,
                prefetch_factor=4 if workers > 0 else None,
                generator=torch.Generator(),  # keep the global RNG untouched by loader seeding
            )
        return self._dl

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
            "provenance": self.run.provenance,
        }

    def _resume(self, source: str | Path) -> None:
        path, state = ckpt.newest_valid(Path(source), self.device)
        if state.get("format") != CKPT_FORMAT:
            raise WeightsError(f"{path} is not a translate training checkpoint")
        for key, net in self.plain_nets.items():
            _load_net(net, state["nets"], key, path)
        for kind in ("optimizers", "schedulers", "scalers"):  # keyed by name: a new one starts fresh
            saved = state.get(kind, {})
            for key, obj in getattr(self, kind).items():
                if key in saved:
                    obj.load_state_dict(saved[key])
        if self.ema is not None and state.get("ema"):
            self.ema.load_state_dict(state["ema"])
        old_world = int(state.get("world_size", 1))
        ranks = state.get("ranks") or [{"rng": state["rng"], "variant_state": state.get("variant_state")}]
        mine = ranks[self.dist.rank % len(ranks)]  # this rank's own RNG and variant state (image pools)
        self.variant.load_state_dict(mine.get("variant_state") or {})
        self.progress = Progress(**state["progress"])
        if old_world == self.dist.world_size:
            ckpt.set_rng_state(mine["rng"])
        else:  # another world size: continue the epoch after the items the old run consumed
            old_batch = int(state["config"]["model"].get("batch_size", self.model_cfg.batch_size))
            consumed = self.progress.batch_in_epoch * old_batch * old_world
            per_step = self.model_cfg.batch_size * self.dist.world_size
            self.progress.batch_in_epoch = min(-(-consumed // per_step), self.batches_per_epoch)
        if not self.cfg.steps:  # the recipe's epochs, whatever the world size was before
            left = (self.total_epochs - self.progress.epoch) * self.batches_per_epoch - self.progress.batch_in_epoch
            self.total_steps = self.progress.step + max(0, left)
        self.resumed_from = path
        self.run.truncate_after(self.progress.step)  # drop what was logged after this checkpoint
        log.info(f"resumed from step {self.progress.step} (epoch {self.progress.epoch}) of {path}")

    def save(self) -> Path | None:
        """Rank 0 writes the checkpoint; under DDP it carries every rank's RNG and variant state
        (`ranks`), so a resume with the same world size is exact on every rank."""
        ranks = None
        if self.dist.enabled:  # a collective: every rank saves at the same steps
            local = {"rng": ckpt.rng_state(), "variant_state": self.variant.state_dict()}
            ranks = D.gather_to_main(local, self.dist)
        if not self.run.active:
            return None
        state = self.state_dict()
        if ranks is not None:  # rank 0's entry: the very objects above (stored once)
            state["ranks"] = [{"rng": state["rng"], "variant_state": state["variant_state"]}, *ranks[1:]]
        t = time.perf_counter()
        path = ckpt.save_checkpoint(state, self.run.dir, self.progress.step, self.cfg.keep_last)
        log.debug(f"checkpoint {path} ({path.stat().st_size / 2**20:.1f} MiB) written in {time.perf_counter() - t:.2f} s"
                  f"{f'; keeping the newest {self.cfg.keep_last}' if self.cfg.keep_last else ''}")
        return path

    # --- the loop ------------------------------------------------------------------------
    def _batches(self) -> Iterator[Any]:
        """Batches until total_steps, advancing epochs (and the per-epoch LR schedule)."""
        while self.progress.step < self.total_steps:
            if self.progress.batch_in_epoch >= self.batches_per_epoch:
                self._end_epoch()
                continue
            for batch in self._loader():
                yield batch
                if self.progress.step >= self.total_steps:
                    return
            if self.progress.batch_in_epoch >= self.batches_per_epoch:
                self._end_epoch()

    def _end_epoch(self) -> None:
        self.progress.epoch += 1
        self.progress.batch_in_epoch = 0
        with warnings.catch_warnings():  # a resume at an epoch boundary steps a scheduler before its optimizer
            warnings.filterwarnings("ignore", re.escape("Detected call of `lr_scheduler.step()` before"))
            for sched in self.schedulers.values():
                sched.step()

    def train_step(self, batch: Any) -> dict[str, float]:
        """One step of the variant on `batch` as the loop runs it: device and layout, train
        mode, autocast, the variant's step, EMA; returns the losses as floats (one sync)."""
        batch = to_device(batch, self.device, self.channels_last)
        self.step.index, self.step.epoch = self.progress.step, self.progress.epoch
        for net in self.nets.values():
            net.train()
        with autocast(self.device, self.dtype):
            out = self.variant.train_step(self.train_view, batch, self.step)
        if self.ema is not None:
            self.ema.update(self.plain_nets)
        tensors = {k: v.detach().float().reshape(()) for k, v in out.items() if isinstance(v, torch.Tensor)}
        values = dict(zip(tensors, torch.stack(list(tensors.values())).tolist())) if tensors else {}
        return {k: values[k] if k in values else float(v) for k, v in out.items()}

    def _stop_if_not_finite(self, losses: dict[str, float]) -> None:
        """A loss that turned NaN or infinite stops the run (on every rank), before anything of
        this step is saved: one line naming the step, the loss and the last checkpoint written."""
        bad = next(((k, v) for k, v in losses.items() if not math.isfinite(v)), None)
        if not D.any_rank(bad is not None, self.dist, self.device):
            return
        from translate.errors import TranslateError

        what = f"loss '{bad[0]}' is {bad[1]}" if bad else "a loss on another process is not finite"
        last = self.run.dir.latest_checkpoint() if self.run.active else None
        where = f"the last checkpoint with finite losses is {last}" if last else "no checkpoint was written yet"
        raise TranslateError(f"training stopped at step {self.progress.step + 1}: {what}; {where} "
                             "(lower lr, set grad_clip, or use precision fp32/bf16, then --resume it)")

    def fit(self) -> dict[str, Any]:
        """Train to `total_steps`; Ctrl-C finishes the current step, saves, and returns.

        Under DDP every rank runs this; the ranks agree each step on whether to stop, rank 0
        alone writes checkpoints, logs, samples and the gallery."""
        cfg = self.cfg
        preview = self._preview_batch()
        restore = self._install_sigint()
        bar = Report("train", self.total_steps, self.progress.step, "it", enabled=cfg.progress and self.run.active,
                       every_s=cfg.log_every_s)
        losses: dict[str, float] = {}
        stopped = False
        t0, start_step = time.time(), self.progress.step
        try:
            with bar:
                for batch in self._batches():
                    losses = self.train_step(batch)
                    self._stop_if_not_finite(losses)
                    self.progress.step += 1
                    self.progress.batch_in_epoch += 1
                    step = self.progress.step
                    bar.advance(1, epoch=self.progress.epoch, **losses)
                    if step % cfg.log_every == 0 or step == self.total_steps:
                        lrs = {f"lr/{k}": o.param_groups[0]["lr"] for k, o in self.optimizers.items()}
                        logged = D.mean_over_ranks(losses, self.dist, self.device)
                        self.run.log(step, {**logged, **lrs}, epoch=self.progress.epoch)
                    if cfg.sample_every and step % cfg.sample_every == 0:
                        self.write_samples(preview)
                    if cfg.ckpt_every and step % cfg.ckpt_every == 0:
                        self.save()
                    if D.any_rank(self._stop.is_set(), self.dist, self.device):
                        stopped = True
                        break
        except BaseException:
            self.run.close("failed")  # the tracker runs say so
            raise
        finally:
            restore()
            self._dl = None  # let persistent loader workers go
        interrupted = stopped and self.progress.step < self.total_steps
        elapsed = max(1e-9, time.time() - t0)
        done = self.progress.step - start_step
        log.debug(f"phase train: {done:,} steps in {elapsed:.2f} s ({1000 * elapsed / max(1, done):.1f} ms a step)")
        losses = D.mean_over_ranks(losses, self.dist, self.device)
        with _phase("final checkpoint"):
            path = self.save()
        if self.run.trackers():
            with _phase("model to the trackers"):
                self.run.log_model(path)
        with _phase("final samples"):
            self.write_samples(preview)
        summary: dict[str, Any] = {
            "steps": self.progress.step,
            "total_steps": self.total_steps,
            "seconds": round(elapsed, 2),
            "steps_per_second": round((self.progress.step - start_step) / elapsed, 3),
            "interrupted": interrupted,
            "checkpoint": str(path) if path else None,
            **({"init_from": "; ".join(self.started_from)} if self.started_from else {}),
            **{f"loss/{k}": round(v, 5) for k, v in losses.items()},
        }
        if self.dist.enabled:
            summary["world_size"] = self.dist.world_size
            summary["replicas_identical"] = D.replicas_identical(self.plain_nets, self.dist)
        if not interrupted and self.data.ground_truth is not None and self.dist.is_main:
            with _phase("evaluation"):
                scores = self.evaluate()
            summary.update(scores)
            summary["explanations"] = explanations(scores, self.variant.figure_table())  # read by the gallery
            self.run.log(self.progress.step, scores, kind="eval")
            self.run.hparams(C.to_plain(self.model_cfg), scores)
        self.run.end_session(self.progress.step, interrupted)
        with _phase("gallery"):
            self.run.write_gallery(summary)
        self.run.close("stopped" if interrupted else "done")
        D.barrier(self.dist)
        D.shutdown(self.dist)
        return summary

    @contextlib.contextmanager
    def _eval_mode(self) -> Iterator[None]:
        """Nets in eval mode and without DDP (no gradients, rank 0 alone), under autocast."""
        for net in self.nets.values():
            net.eval()
        with torch.no_grad(), autocast(self.device, self.dtype):
            yield

    def evaluate(self) -> dict[str, float]:
        """The variant's figures of the weights a user keeps (the EMA's where the run keeps one, as
        every exported or loaded model has them), in fp32 as `translate eval` runs them."""
        for net in self.nets.values():
            net.eval()
        kept = dict(self.eval_nets)
        if self.ema is not None:
            kept.update(self.ema.shadow)
        with torch.no_grad():
            scores = self.variant.evaluate(MappingProxyType({**kept, **self.aux}),
                                           to_device(self.data.ground_truth, self.device, False))
        return {k: round(float(v), 4) for k, v in scores.items()}

    def _preview_batch(self) -> Any:
        n = min(self.cfg.preview_count, len(self.data.preview))
        items = [self.data.preview[i] for i in range(n)]
        return torch.utils.data.default_collate(items) if items else None

    def write_samples(self, preview: Any) -> None:
        if preview is None or not self.run.active or self._sampled_at == self.progress.step:
            return  # (the end of a run whose last step already wrote its grid: not twice)
        self._sampled_at = self.progress.step
        with self._eval_mode():
            rows = self.variant.sample_rows(self.eval_view, to_device(preview, self.device, self.channels_last))
        self.run.save_samples(self.progress.step, rows, self.variant.value_range, self.progress.epoch)

    def _install_sigint(self):  # noqa: ANN202
        """First Ctrl-C (or SIGTERM: a cluster's time limit or preemption, which torchrun passes
        on to its workers): finish this step, save, stop. A second one: stop at once."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        signals = [signal.SIGINT, *([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])]
        previous = {s: signal.getsignal(s) for s in signals}

        def handler(signum, frame):  # noqa: ANN001
            if self._stop.is_set():
                raise KeyboardInterrupt
            self._stop.set()

        for s in signals:
            signal.signal(s, handler)
        return lambda: [signal.signal(s, h) for s, h in previous.items()]


def _check_contract(variant: Variant) -> None:
    """A variant written for 0.1 (train_step(batch, step), nets kept on the variant) gets one line."""
    params = list(inspect.signature(variant.train_step).parameters)
    if len(params) == 2:
        raise PluginError(
            f"variant '{variant.name}' has the 0.1 train_step(batch, step); the engine now hands the nets: "
            "def train_step(self, nets, batch, step) (sample_rows and evaluate take nets first too)"
        )


def _schedulers(optimizers: dict[str, torch.optim.Optimizer], lr_lambda: Any) -> dict[str, Any]:
    """One LambdaLR per optimizer: the variant's schedule, or its schedule for that optimizer's name."""
    out = {}
    for name, opt in optimizers.items():
        factor = lr_lambda.get(name, lambda epoch: 1.0) if isinstance(lr_lambda, dict) else lr_lambda
        out[name] = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    return out


def _load_net(net: torch.nn.Module, states: dict[str, Any], key: str, path: Path) -> None:
    if key not in states:
        raise WeightsError(f"{path} has no weights for net '{key}' (has: {', '.join(sorted(states))})")
    from translate.weights import load_into

    load_into(net, states[key], f"{path}:{key}")
