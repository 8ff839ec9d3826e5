"""The Variant contract: a GAN variant is the paper's math and nothing else.

A variant declares its networks (`build`), its optimizers (`optimizers`), one training step
(`train_step`) and the generators a user keeps (`translators`, with `translator_meta`). The
engine hands it the nets — it never keeps them — and does everything else: devices,
precision, DDP, stepping (`step.update`), schedules, EMA, checkpoints and resume,
start-from-weights (`init_from`), logging, samples and evaluation.

Optional hooks, each with a default that fits most variants:

    validate(cfg)            cross-key checks of the recipe (classmethod; before any work)
    settle(cfg, info)        config derived from the data (e.g. the class count), before build
    data_dependent_initialize(nets, batch)   nets shaped by the data (CUT's MLP heads over G's
                             features), built from the run's first batch before the optimizers
    auxiliary(cfg)           frozen training-only modules (a VGG loss): placed on the device by the
                             engine, kept out of checkpoints, handed to train_step with the nets
    lr_lambda(cfg)           the LR schedule: a factor per epoch (or one per optimizer name)
    sample_rows(nets, b)     named rows of the sample grids (default: from the translators)
    evaluate(nets, truth)    figures on held-out data with known answers (default: from the translators)
    example_inputs(cfg, b, s) inputs of nets that are not image-in nets, for the size pre-flight
    state_dict()/load_state_dict()   training state that is not a net or optimizer (image pools)

Declared, not guessed (contract v3): the data kind (`data`, whose keys and ranges are declared
in translate.data), what the figures mean (`figures`), net attributes (`NetAttributes`), and a
config's changed base defaults (`defaults = {...}` on the config class).

Translators named `XtoY` (e.g. AtoB, BtoA) over batches with X and Y keys get the sample rows
`real X, X→Y, X→Y→X` and the ground-truth PSNR of X→Y for free.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from translate.kit.figures import TRANSLATION, Figure, explain
from translate.meta import TranslatorMeta
from translate.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from translate.engine.step import Step

Nets = Mapping[str, nn.Module]  # what the engine hands a variant: its nets (+ auxiliary modules), read-only
Row = tuple[str, Tensor]  # a labelled row of a sample grid: ("A→B", [N, C, H, W])


@runtime_checkable
class NetAttributes(Protocol):
    """What a translator net states about itself (checked when it is built for inference):
    channels in and out, the multiple its input sides must be, and its upscaling factor."""

    in_channels: int
    out_channels: int
    size_multiple: int
    scale: int


def net_attributes(net: nn.Module, channels: int) -> tuple[int, int, int, int]:
    """(in_channels, out_channels, size_multiple, scale) of a translator net: what it states
    (NetAttributes), else `channels` in and out, any size, scale 1 (a net stating nothing).
    A stated attribute of the wrong type is a TypeError naming it."""
    values = []
    for attr, default in (("in_channels", channels), ("out_channels", channels), ("size_multiple", 1), ("scale", 1)):
        value = getattr(net, attr, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TypeError(f"{type(net).__name__}.{attr} must be a positive int (NetAttributes), got {value!r}")
        values.append(value)
    return values[0], values[1], values[2], values[3]


def option(default: Any, help: str, **kw: Any) -> Any:  # noqa: A002 - mirrors argparse
    """A config field with a help text (shown by `translate variants show`).

    Range checks, declared next to the field, run before any work starts (one line on error):
    `min`/`max` (inclusive), `above` (exclusive lower bound), `choices`, `multiple_of`.
    """
    checks = {k: kw.pop(k) for k in ("min", "max", "above", "choices", "multiple_of") if k in kw}
    meta = {"help": help, **checks}
    if isinstance(default, (list, dict, tuple)):
        return field(default_factory=lambda: type(default)(default), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


@dataclass
class VariantConfig:
    """Fields every variant has; a variant's config subclasses this with the paper's defaults.

    A subclass changes inherited defaults in one line — `defaults = {"batch_size": 16}` — and
    keeps each field's help text and declared ranges (the new default is range-checked too).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _apply_defaults(cls)

    batch_size: int = option(1, "images per step (per process)", min=1)
    lr: float = option(2e-4, "Adam learning rate", above=0, max=1)
    beta1: float = option(0.5, "Adam beta1", min=0, max=0.999999)
    beta2: float = option(0.999, "Adam beta2", min=0, max=0.999999)
    epochs: int = option(100, "epochs at the initial learning rate", min=0)
    decay_epochs: int = option(0, "further epochs with the learning rate decaying linearly to 0", min=0)
    lr_schedule: str = option("linear", "linear (constant, then linear decay over decay_epochs) or constant",
                              choices=("linear", "constant"))
    image_size: int = option(256, "training crop size (pixels per side)", min=1, max=16384)
    load_size: int = option(256, "images are resized to this before the random crop", min=0, max=16384)
    channels: int = option(3, "image channels (3 = RGB, 1 = grayscale)", choices=(1, 3))
    flip: bool = option(True, "random horizontal flips")
    init_from: str = option("", "fresh runs start from these weights (ignored on resume): a run dir, checkpoint, "
                                ".safetensors or generator .pth; NAME=PATH,... picks nets or translators")


def _apply_defaults(cls: type) -> None:
    """Turn `cls.defaults` (own, not inherited) into redeclared fields before @dataclass runs."""
    from translate.config import check

    new = cls.__dict__.get("defaults")
    if not new:
        return
    base = next(b for b in cls.__mro__[1:] if dataclasses.is_dataclass(b))
    inherited = {f.name: f for f in dataclasses.fields(base)}
    annotations = cls.__dict__.get("__annotations__")
    if annotations is None:
        annotations = {}
        cls.__annotations__ = annotations
    for key, value in new.items():
        if key not in inherited:
            raise TypeError(f"{cls.__qualname__}.defaults: '{key}' is not a field of {base.__qualname__}")
        if key in annotations:
            raise TypeError(f"{cls.__qualname__}: '{key}' is both declared and in `defaults`; keep one")
        old = inherited[key]
        check(key, value, old)
        annotations[key] = old.type
        if isinstance(value, (list, dict, tuple)):
            setattr(cls, key, field(default_factory=lambda v=value: type(v)(v), metadata=old.metadata))
        else:
            setattr(cls, key, field(default=value, metadata=old.metadata))


class Variant:
    """Base class of GAN variants. Subclass, set the class attributes, implement the methods."""

    name: ClassVar[str] = ""
    config: ClassVar[type[VariantConfig]] = VariantConfig
    data: ClassVar[str] = "unpaired"  # dataset kind this variant trains on
    demo: ClassVar[dict[str, Any]] = {}  # config overrides for the built-in demo data
    ema_nets: ClassVar[tuple[str, ...]] = ()  # nets the engine may keep an EMA copy of
    description: ClassVar[str] = ""
    value_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)  # the nets' image range (data arrive in [-1, 1])
    figures: ClassVar[dict[str, Figure]] = {}  # what this variant's `evaluate` figures mean (over figures.TRANSLATION)
    truth_metrics: ClassVar[tuple[str, ...]] = ("psnr",)  # what `evaluate` scores against held-out truth: psnr, ssim

    def __init__(self, cfg: VariantConfig) -> None:
        self.cfg = cfg

    # --- the paper ---------------------------------------------------------------------------
    def build(self, cfg: VariantConfig) -> dict[str, nn.Module]:
        """The networks, by name, freshly initialised (inference rebuilds translators from here)."""
        raise NotImplementedError

    def optimizers(self, nets: Nets, cfg: VariantConfig) -> dict[str, torch.optim.Optimizer]:
        """The optimizers, by name (`step.update(name, loss)` steps one)."""
        raise NotImplementedError

    def train_step(self, nets: Nets, batch: Any, step: Step) -> dict[str, Tensor]:
        """One training step on `batch`; returns the losses to log, by name."""
        raise NotImplementedError

    def translators(self, nets: Nets) -> dict[str, nn.Module]:
        """The networks a user keeps for inference, by direction/name ("AtoB", "G"...)."""
        return {}

    def translator_meta(self, name: str, net: nn.Module) -> TranslatorMeta:
        """What inference needs to run `translators()[name]` without the training code."""
        c_in, c_out, multiple, scale = net_attributes(net, self.cfg.channels)
        return TranslatorMeta.image(in_channels=c_in, out_channels=c_out, in_range=self.value_range,
                                    out_range=self.value_range, size_multiple=multiple, scale=scale)

    def example_inputs(self, cfg: VariantConfig, batch: int, size: int) -> dict[str, tuple[Tensor, ...]]:
        """Inputs of each net that is not a translator, for the size pre-flight: {net: (args...)}
        at `batch` images of `size` px (the translators' output size). Default: one image of
        `cfg.channels` per net (and a class label for nets with `num_classes`). A conditional
        D that sees input ⊕ output declares its 2·channels here. Tensors are made on "meta"."""
        return {}

    # --- optional hooks ------------------------------------------------------------------------
    @classmethod
    def validate(cls, cfg: VariantConfig) -> None:
        """Raise ConfigError for combinations of values the recipe cannot train (one line)."""

    @classmethod
    def settle(cls, cfg: VariantConfig, info: Mapping[str, Any]) -> VariantConfig:
        """The config with what the data decides filled in (e.g. the class count); never mutates `cfg`."""
        return cfg

    def data_dependent_initialize(self, nets: Nets, batch: Any) -> dict[str, nn.Module]:
        """Nets whose shapes come from the data, built from the run's first batch (the nets of
        `build` in eval mode, no gradients). The engine adds them to the nets before anything
        else: `optimizers()` sees them, checkpoints, resume, EMA, DDP and compile treat them
        like the nets of `build`; they are not translators."""
        return {}

    def auxiliary(self, cfg: VariantConfig) -> dict[str, nn.Module]:
        """Frozen modules the training step needs (loss networks); not checkpointed, not at inference."""
        return {}

    def lr_lambda(self, cfg: VariantConfig) -> Callable[[int], float] | dict[str, Callable[[int], float]]:
        """The learning-rate factor as a function of the epoch (or one such function per optimizer)."""
        from translate.kit.schedules import from_config

        return from_config(cfg)

    def sample_rows(self, nets: Nets, batch: Any) -> list[Row]:
        """Labelled rows of images for sample grids, in this variant's value range."""
        rows: list[Row] = []
        translators = self.translators(nets)
        for name, src, dst in _directions(translators, batch):
            x = self.from_data(batch[src])
            y = translators[name](x)
            rows += [(f"real {src}", x), (f"{src}→{dst}", y)]
            back = translators.get(f"{dst}to{src}")
            if back is not None:
                rows.append((f"{src}→{dst}→{src}", back(y)))
        return rows

    def evaluate(self, nets: Nets, truth: Any) -> dict[str, float]:
        """Ground-truth `truth_metrics` (PSNR; SSIM where declared) of every X→Y translator where the
        truth holds X and Y (the demos), of its outputs as they would be saved (uint8), next to
        `psnr_XtoY_baseline`: the score of leaving X unchanged, the do-nothing baseline. The names
        and numbers `translate eval` gives."""
        from translate.metrics.image import as_saved, psnr, ssim

        if not isinstance(truth, Mapping):
            return {}
        metrics = {"psnr": psnr, "ssim": lambda a, b, r: ssim(a, b, r).mean()}
        translators = self.translators(nets)
        scores = {}
        for name, src, dst in _directions(translators, truth):
            x, target = self.from_data(truth[src]), self.from_data(truth[dst])
            out = as_saved(translators[name](x), self.value_range)
            for metric in self.truth_metrics:
                scores[f"{metric}_{name}"] = metrics[metric](out, target, self.value_range).item()
                scores[f"{metric}_{name}_baseline"] = metrics[metric](x, target, self.value_range).item()
        return scores

    @classmethod
    def figure_table(cls) -> dict[str, Figure]:
        """Every figure this variant may report, with its explanation (its own over TRANSLATION's)."""
        return {**TRANSLATION, **cls.figures}

    @classmethod
    def explain(cls, key: str) -> str:
        """The one line explaining figure `key` ("" if the variant does not say)."""
        return explain(key, cls.figure_table())

    def state_dict(self) -> dict[str, Any]:
        """Training state that is not a net/optimizer (image pools, counters)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None

    # --- helpers -------------------------------------------------------------------------------
    def from_data(self, x: Tensor) -> Tensor:
        """Images from the data pipeline ([-1, 1]) in this variant's value range."""
        lo, hi = self.value_range
        if (lo, hi) == (-1.0, 1.0):
            return x
        return (x + 1) / 2 * (hi - lo) + lo


def _directions(translators: Mapping[str, Any], batch: Any) -> list[tuple[str, str, str]]:
    """(name, X, Y) of the translators named XtoY whose X and Y the batch holds."""
    if not isinstance(batch, Mapping):
        return []
    out = []
    for name in translators:
        src, sep, dst = name.partition("to")
        if sep and src in batch and dst in batch:
            out.append((name, src, dst))
    return out


VARIANTS: Registry[type[Variant]] = Registry("variant")


def register_variant(cls: type[Variant]) -> type[Variant]:
    """Class decorator: make a Variant available by its ``name``."""
    if not cls.name:
        raise TypeError(f"{cls.__qualname__} needs a `name`")
    if not (dataclasses.is_dataclass(cls.config) and issubclass(cls.config, VariantConfig)):
        raise TypeError(f"{cls.__qualname__}.config must be a dataclass subclassing VariantConfig")
    return VARIANTS.add(cls.name, cls)
