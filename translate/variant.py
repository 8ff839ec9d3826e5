"""The Variant interface: a GAN variant is the paper's math and nothing else.

A variant declares its networks (`build`), its optimizers (`optimizers`), one training
step (`train_step`) and the generators a user keeps (`translators`). Devices, precision,
stepping, schedules, EMA, checkpoints, logging and samples belong to the engine.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import Tensor, nn

from translate.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from translate.engine.step import Step


def option(default: Any, help: str, **kw: Any) -> Any:  # noqa: A002 - mirrors argparse
    """A config field with a help text (shown by `translate variants show`)."""
    if isinstance(default, (list, dict, tuple)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class VariantConfig:
    """Fields every variant has; a variant's config subclasses this with the paper's defaults."""

    batch_size: int = option(1, "images per step (per process)")
    lr: float = option(2e-4, "Adam learning rate")
    beta1: float = option(0.5, "Adam beta1")
    beta2: float = option(0.999, "Adam beta2")
    epochs: int = option(100, "epochs at the initial learning rate")
    decay_epochs: int = option(0, "further epochs with the learning rate decaying linearly to 0")
    lr_schedule: str = option("linear", "linear (constant, then linear decay over decay_epochs) or constant")
    image_size: int = option(256, "training crop size (pixels per side)")
    load_size: int = option(256, "images are resized to this before the random crop")
    channels: int = option(3, "image channels (3 = RGB, 1 = grayscale)")
    flip: bool = option(True, "random horizontal flips")


class Variant:
    """Base class of GAN variants. Subclass, set the class attributes, implement the methods."""

    name: ClassVar[str] = ""
    config: ClassVar[type[VariantConfig]] = VariantConfig
    data: ClassVar[str] = "unpaired"  # dataset kind this variant trains on
    demo: ClassVar[dict[str, Any]] = {}  # config overrides for the built-in demo data
    ema_nets: ClassVar[tuple[str, ...]] = ()  # nets the engine may keep an EMA copy of
    description: ClassVar[str] = ""

    def __init__(self, cfg: VariantConfig) -> None:
        self.cfg = cfg
        self.nets: dict[str, nn.Module] = {}
        self.device = torch.device("cpu")

    # --- the paper ---------------------------------------------------------------
    def build(self, cfg: VariantConfig) -> dict[str, nn.Module]:
        raise NotImplementedError

    def optimizers(self, nets: dict[str, nn.Module], cfg: VariantConfig) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, batch: Any, step: Step) -> dict[str, Tensor]:
        raise NotImplementedError

    def translators(self, nets: dict[str, nn.Module]) -> dict[str, nn.Module]:
        """The networks a user keeps for inference, by direction/name ("AtoB", "G"...)."""
        return {}

    def translator_meta(self, name: str, net: nn.Module) -> dict[str, Any]:
        """What inference needs to run `translators()[name]` without the training code.

        Image-to-image: {"input": "image", "in_channels", "out_channels", "in_range",
        "out_range", "size_multiple", "scale"}. Noise-driven generators override this with
        {"input": "noise", "z_dim", "num_classes", "out_channels", "out_range", ...}.
        """
        c = self.cfg.channels
        return {
            "input": "image",
            "in_channels": getattr(net, "in_channels", c),
            "out_channels": getattr(net, "out_channels", c),
            "in_range": list(self.value_range),
            "out_range": list(self.value_range),
            "size_multiple": int(getattr(net, "size_multiple", 1)),
            "scale": int(getattr(net, "scale", 1)),
        }

    # --- optional hooks ------------------------------------------------------------
    def sample_rows(self, batch: Any) -> list[Tensor]:
        """Rows of images (each [N, C, H, W] in the variant's value range) for sample grids."""
        return []

    def evaluate(self, eval_set: Any) -> dict[str, float]:
        """Quality figures on held-out data (e.g. ground-truth PSNR on the demo)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Training state that is not a net/optimizer (image pools, counters)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None

    value_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)


VARIANTS: Registry[type[Variant]] = Registry("variant")


def register_variant(cls: type[Variant]) -> type[Variant]:
    """Class decorator: make a Variant available by its ``name``."""
    if not cls.name:
        raise TypeError(f"{cls.__qualname__} needs a `name`")
    if not (dataclasses.is_dataclass(cls.config) and issubclass(cls.config, VariantConfig)):
        raise TypeError(f"{cls.__qualname__}.config must be a dataclass subclassing VariantConfig")
    return VARIANTS.add(cls.name, cls)
