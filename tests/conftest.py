"""Shared fixtures and helpers: a toy variant, tiny configs of every built-in, tiny image folders,
a stand-in judge and a CLI runner (CPU only, small and fast)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from translate.kit.losses import mse
from translate.variant import VARIANTS, Variant, VariantConfig, register_variant

# One thread: these nets are tiny, and with more threads a busy machine's cores make
# OpenMP spin-waits dominate (seen: 2.2 s vs 5 ms for one small forward pass).
torch.set_num_threads(1)


class Toy(Variant):
    """The smallest variant the engine trains: a 1×1 conv fitted to B from A, plus a little
    noise (so resume must restore the RNG) and a step counter (so it must restore variant state)."""

    name, data, ema_nets = "toy", "unpaired", ("G",)

    def build(self, cfg: VariantConfig) -> dict[str, nn.Module]:
        return {"G": nn.Conv2d(cfg.channels, cfg.channels, 1)}

    def optimizers(self, nets: Any, cfg: VariantConfig) -> dict[str, torch.optim.Optimizer]:
        return {"G": torch.optim.Adam(nets["G"].parameters(), cfg.lr, (cfg.beta1, cfg.beta2))}

    def train_step(self, nets: Any, batch: dict[str, torch.Tensor], step: Any) -> dict[str, torch.Tensor]:
        self.seen = getattr(self, "seen", 0) + 1
        loss = mse(nets["G"](batch["A"] + 0.01 * torch.randn_like(batch["A"])), batch["B"])
        step.update("G", loss)
        return {"mse": loss}

    def translators(self, nets: Any) -> dict[str, nn.Module]:
        return {"AtoB": nets["G"]}

    def state_dict(self) -> dict[str, Any]:
        return {"seen": getattr(self, "seen", 0)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seen = state.get("seen", 0)


if "toy" not in VARIANTS:
    register_variant(Toy)

QUIET = ["progress=false", "tensorboard=false", "num_workers=0"]
# Tiny settings of every built-in variant (and the toy): a step in well under a second.
TINY: dict[str, list[str]] = {
    "toy": ["image_size=16", "load_size=18", "batch_size=2"],
    "cyclegan": ["generator=resnet", "ngf=4", "ndf=4", "image_size=32", "load_size=34", "batch_size=2", "pool_size=3"],
    "discogan": ["ngf=4", "ndf=4", "batch_size=2"],
    "srgan": ["nf=8", "n_blocks=1", "ndf=4", "image_size=16", "batch_size=2", "epoch_size=4"],
    "gan": ["image_size=16", "load_size=16", "ngf=4", "ndf=4", "z_dim=8", "batch_size=2"],
    "cgan": ["image_size=16", "load_size=16", "ngf=4", "ndf=4", "z_dim=8", "batch_size=2"],
    "cogan": ["ngf=4", "ndf=2", "z_dim=8", "batch_size=2"],
    "pix2pix": ["generator=unet_32", "ngf=4", "ndf=4", "image_size=32", "load_size=34", "batch_size=2"],
    "cut": ["generator=resnet_6blocks", "ngf=4", "ndf=4", "image_size=32", "load_size=34", "batch_size=2",
            "num_patches=16", "nce_units=8"],
    "fastcut": ["generator=resnet_6blocks", "ngf=4", "ndf=4", "image_size=32", "load_size=34", "batch_size=2",
                "num_patches=16", "nce_units=8"],
}
TINY_CYCLEGAN = [*TINY["cyclegan"], "tensorboard=false", "progress=false"]


def flags(*sets: str) -> list[str]:
    """`--set` flags for the CLI: flags("ngf=4", "steps=2") -> ["--set", "ngf=4", "--set", "steps=2"]."""
    return [x for s in sets for x in ("--set", s)]


def tiny_config(variant: str, **extra: Any) -> VariantConfig:
    """The variant's config at its TINY settings (and `extra`), as a dataclass."""
    from translate import config as C
    from translate import discovery

    discovery.load_all()
    cls = VARIANTS.get(variant)
    cfg = C.apply(cls.config(), C.parse_sets(TINY[variant]))
    cfg = C.apply(cfg, extra)
    return cls.settle(cfg, {"class_names": ["a", "b", "c"]} if cls.data == "labelled" else {})


def tiny_batch(variant: str, cfg: VariantConfig, n: int = 2) -> dict[str, torch.Tensor]:
    """A random batch of the variant's data kind, images in [-1, 1]."""
    from translate import discovery

    discovery.load_all()
    kind, s, c = VARIANTS.get(variant).data, cfg.image_size, cfg.channels

    def img(size: int = s) -> torch.Tensor:
        return torch.rand(n, c, size, size) * 2 - 1

    if kind == "sr":
        return {"lr": img(s // cfg.scale), "hr": img()}
    if kind in ("noise", "single"):
        return {"image": img()}
    if kind == "labelled":
        return {"image": img(), "label": torch.arange(n) % cfg.num_classes}
    return {"A": img(), "B": img()}


def plan_run(variant: str | None, data: Path | None, runs: Path, name: str | None, sets: list[str],
             resume: Path | None = None) -> Any:
    """`translate train VARIANT --data DATA --name NAME --set ...` (or `--resume RUN --set ...`) as a plan."""
    from translate import config as C
    from translate.jobs import train as T

    if resume is not None:
        return T.plan(resume=str(resume), sets=C.parse_sets(sets))
    return T.plan(variant, data=str(data) if data else None, name=name, sets=C.parse_sets(sets), runs_dir=runs)


def final_state(run_dir: Path) -> dict[str, Any]:
    """The newest checkpoint of a run, loaded."""
    from translate.engine import checkpoint as ckpt
    from translate.jobs.rundir import RunDir

    return ckpt.load_checkpoint(RunDir(run_dir).latest_checkpoint())


def straight_and_resumed(plan: Any, total: int = 6, split: int = 3) -> tuple[dict[str, Any], dict[str, Any]]:
    """Final states of a run of `total` steps straight, and of one stopped after `split` steps and
    resumed to `total`; `plan(name, steps, resume)` makes the plans. Both end at the same progress."""
    from translate.jobs import train as T

    straight = plan("straight", total, None)
    T.run(straight)
    first = plan("split", split, None)
    T.run(first)
    assert final_state(first.run_dir)["progress"]["step"] == split
    T.run(plan(None, total, first.run_dir))
    a, b = final_state(straight.run_dir), final_state(first.run_dir)
    assert a["progress"] == b["progress"]
    for net in a["nets"]:
        for key, tensor in a["nets"][net].items():
            assert torch.equal(tensor, b["nets"][net][key]), f"{net}.{key} differs after resume"
    for opt in a["optimizers"]:
        sa, sb = a["optimizers"][opt]["state"], b["optimizers"][opt]["state"]
        assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
    return a, b


class StubJudge(nn.Module):
    """A 'classifier' that reads the class off the mean brightness: 2 classes, feature = mean."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(1, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-1.0], [1.0]]))
            self.head.bias.zero_()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).mean(1, keepdim=True)


def write_images(folder: Path, n: int, size: int = 20, seed: int = 0, mode: str = "RGB", ext: str = ".png") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        arr = rng.integers(0, 256, size=(size, size + 2, 3), dtype=np.uint8)
        img = Image.fromarray(arr, "RGB").convert(mode)
        path = folder / f"img_{i:03d}{ext}"
        img.save(path)
        paths.append(path)
    return paths


@pytest.fixture(autouse=True)
def _plain_logging():
    """The CLI configures the 'translate' logger (its own handler, no propagation); undo that after
    each test so pytest's caplog sees the records of the next one."""
    yield
    from translate.jobs import logs

    for handler in [h for h in logs.logger.handlers if isinstance(h, logs._Handler)]:
        logs.logger.removeHandler(handler)
    logs.logger.propagate = True
    logs.logger.setLevel("NOTSET")


@pytest.fixture
def unpaired_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_images(root / "trainA", 5, seed=1)
    write_images(root / "trainB", 4, seed=2)
    write_images(root / "testA", 2, seed=3)
    write_images(root / "testB", 2, seed=4)
    return root


@pytest.fixture
def cli():
    """Run the `translate` CLI in-process; returns (exit_code, output)."""
    from typer.testing import CliRunner

    from translate.cli import _register, app

    _register()
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        from translate.cli import exit_code
        from translate.errors import TranslateError

        try:
            result = runner.invoke(app, list(args), catch_exceptions=False)
        except TranslateError as err:
            return exit_code(err), f"error: {err}"
        return result.exit_code, result.output

    return invoke
