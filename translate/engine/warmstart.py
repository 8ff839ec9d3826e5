"""`init_from`: a fresh run starts from existing weights (fine-tuning, SRGAN after SRResNet).

    init_from=runs/sr_pre                         every net the source has, by name (G; D stays new)
    init_from=runs/h2z/checkpoints/step_00001000.pt
    init_from=h2z-AtoB.safetensors                an exported translator (sidecar or not)
    init_from=AtoB=horse2zebra.pth,BtoA=zebra2horse.pth    official CycleGAN generators, by translator
    init_from=G_AB=a.pth                          NAME=PATH targets one net or translator

Sources are read as data only (safetensors, `torch.load(weights_only=True)`); a run or
checkpoint gives its raw nets (not the EMA). Only fresh runs use it: a resumed run continues
from its own checkpoint, so the source need not exist any more.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from translate.errors import ConfigError, WeightsError
from translate.files import exists, load_torch
from translate.meta import is_name
from translate.jobs.rundir import RunDir
from translate.weights import load_into, normalise

CHECKPOINT_PREFIX = "translate.checkpoint/"


def parse(spec: str) -> list[tuple[str | None, str]]:
    """`PATH` or `NAME=PATH[,NAME=PATH...]` (a whole value that is an existing path is one PATH)."""
    spec = spec.strip()
    if not spec or exists(Path(spec).expanduser()):
        return [(None, spec)] if spec else []
    items = []
    for part in spec.split(","):
        name, sep, path = part.partition("=")
        if sep and is_name(name.strip()):
            items.append((name.strip(), path.strip()))
        elif len(spec.split(",")) == 1:
            items.append((None, part.strip()))
        else:
            raise ConfigError(f"init_from item '{part}': write NAME=PATH (NAME a net or translator) or one PATH")
    return items


def read(path: str) -> tuple[str, dict[str, Any]]:
    """("nets", {net: state}) from a run or checkpoint; ("translators", {name: state}) from a
    multi-translator export; ("single", state) from one generator's weights."""
    p = Path(path).expanduser()
    if p.is_dir():
        found = RunDir(p).latest_checkpoint() or (RunDir(p.parent).latest_checkpoint() if p.name == "checkpoints" else None)
        if found is None:
            raise WeightsError(f"init_from {p}: no checkpoint in it (is it a run directory?)")
        p = found
    if not p.is_file():
        raise WeightsError(f"init_from {p}: no such file or run directory")
    if p.suffix.lower() == ".safetensors":
        return _read_safetensors(p)
    state = load_torch(p, "init_from weights")
    if isinstance(state, dict) and str(state.get("format", "")).startswith(CHECKPOINT_PREFIX):
        nets = state.get("nets")
        if not isinstance(nets, dict):
            raise WeightsError(f"init_from {p}: a checkpoint without nets")
        return "nets", nets
    if isinstance(state, dict) and state and all(hasattr(v, "shape") for v in state.values()):
        return "single", state
    raise WeightsError(f"init_from {p}: neither a translate checkpoint nor a state dict of tensors")


def _read_safetensors(path: Path) -> tuple[str, dict[str, Any]]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from translate.meta import ModelSpec

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise WeightsError(f"init_from {path}: cannot read it as safetensors ({err})") from None
    side = path.with_suffix(".json")
    names = list(ModelSpec.from_json(side.read_bytes(), f"sidecar {side}").translators) if side.is_file() else []
    if len(names) > 1:
        return "translators", {n: {k[len(n) + 1:]: v for k, v in tensors.items() if k.startswith(f"{n}.")} for n in names}
    return "single", tensors


def start_from(spec: str, nets: dict[str, nn.Module], translators: dict[str, nn.Module]) -> list[str]:
    """Load `spec` into `nets` (in place); returns one line per loaded net, for the log."""
    done: list[str] = []
    for name, path in parse(spec):
        kind, weights = read(path)
        targets = _targets(name, kind, weights, nets, translators, path)
        for key, module, state in targets:
            load_into(module, normalise(state, module), f"init_from {path} [{key}]")
            done.append(f"{key} from {path}")
    return done


def _net_key(module: nn.Module, nets: dict[str, nn.Module]) -> str | None:
    return next((k for k, n in nets.items() if n is module), None)


def _targets(name: str | None, kind: str, weights: dict[str, Any], nets: dict[str, nn.Module],
             translators: dict[str, nn.Module], path: str) -> list[tuple[str, nn.Module, dict[str, Any]]]:
    """(label, module to load, its state) for one init_from item."""
    if name is not None:
        module = nets.get(name) or translators.get(name)
        if module is None:
            raise ConfigError(f"init_from {name}=...: no net or translator '{name}' (nets: {', '.join(nets)}; "
                              f"translators: {', '.join(translators)})")
        if kind == "single":
            return [(name, module, weights)]
        key = name if name in weights else _net_key(module, nets)
        if key not in weights:
            raise WeightsError(f"init_from {path} has no '{name}' (it has: {', '.join(weights)})")
        return [(name, module, weights[key])]
    if kind == "single":
        first = next(iter(translators), None) or next(iter(nets))
        return [(first, translators.get(first) or nets[first], weights)]
    pool = nets if kind == "nets" else translators
    common = [k for k in pool if k in weights]
    if not common:
        raise WeightsError(f"init_from {path} holds {', '.join(weights)}, this variant has {', '.join(pool)}: nothing "
                           "in common; name the target: init_from=NAME=PATH")
    return [(k, pool[k], weights[k]) for k in common]
