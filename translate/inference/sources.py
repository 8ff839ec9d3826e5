"""Reading generators from every supported weights source, without running any code.

Sources: a run directory or a training checkpoint (nets rebuilt from the checkpoint's own
config, EMA weights preferred), a safetensors file with its JSON sidecar, a bare generator
`.pth` in a layout a plugin registered (translate.inference.formats: CycleGAN's and pix2pix's
official files), and an ONNX file carrying the same JSON in
its metadata. Each yields a `Model`: its translators (torch modules, or an ONNX path), their
meta, and a `spec` saying how to rebuild the architecture — not yet placed on a back end
(see `translate.inference.loading.open_model`).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from translate.errors import WeightsError
from translate.files import first_line, load_torch, shown
from translate.inference.translator import Model, Translator
from translate.meta import ModelSpec, TranslatorMeta, plugin_label
from translate.jobs.rundir import RunDir

CHECKPOINT_PREFIX = "translate.checkpoint/"  # engine.trainer.CKPT_FORMAT is "translate.checkpoint/1"


def _model(source: Path, kind: str, spec: ModelSpec, modules: dict[str, Any] | None = None,
           onnx_path: str | None = None) -> Model:
    modules = modules or {}
    translators = {name: Translator(name, meta, None, str(source), modules.get(name))
                   for name, meta in spec.translators.items()}
    return Model(str(source), kind, translators, spec, onnx_path)


def load_source(path: str | Path, variant: str | None = None, plugins: Sequence[str] = ()) -> Model:
    """Dispatch on what `path` is: run dir, checkpoint, safetensors(+json), .pth state dict, .onnx
    (a pretrained model's name or an hf:// address is first made a local file: translate.hub)."""
    from translate.hub.resolver import resolve

    found = resolve(path, plugins)
    p, variant = found.path, variant or found.variant
    if p.is_dir():
        return _from_run_dir(p, plugins)
    if not p.is_file():
        raise WeightsError(f"model not found: {p} (a run directory, .pt/.pth, .safetensors or .onnx file)")
    suffix = p.suffix.lower()
    if suffix == ".onnx":
        return _from_onnx(p)
    if suffix == ".json":
        p = p.with_suffix(".safetensors")
        suffix = ".safetensors"
    if suffix == ".safetensors":
        return _from_safetensors(p, variant, plugins)
    state = _torch_load(p)
    if isinstance(state, dict) and str(state.get("format", "")).startswith(CHECKPOINT_PREFIX):
        return _from_checkpoint(p, state, _run_dir_of(p), plugins)
    if isinstance(state, dict) and state and all(_is_tensor(v) for v in state.values()):
        return _from_state_dict(p, state, variant)
    raise WeightsError(f"{p} is neither a translate checkpoint nor a generator state dict")


# --- run dirs and checkpoints -----------------------------------------------------------
def _from_run_dir(folder: Path, plugins: Sequence[str]) -> Model:
    run = RunDir(folder.parent if folder.name == "checkpoints" else folder)
    found = run.latest_checkpoint()
    if found is None:
        raise WeightsError(f"no checkpoint in {folder} (is it a run directory? train one with `translate train`)")
    return _from_checkpoint(found, _torch_load(found), run, plugins)


def _run_dir_of(checkpoint: Path) -> RunDir | None:
    return RunDir.of_checkpoint(checkpoint)


def _from_checkpoint(path: Path, state: dict[str, Any], run: RunDir | None, plugins: Sequence[str]) -> Model:
    from translate.weights import load_into

    plugin = ""
    if run is not None:  # where the run's variant came from: a hint if it is not loaded
        saved = run.read_config()
        plugin = str(saved.get("plugin") or plugin_label(saved.get("plugin_file")))
    config = (state.get("config") or {}).get("model") if isinstance(state.get("config"), dict) else None
    if not isinstance(config, dict):
        raise WeightsError(f"{path}: a translate checkpoint without its model config")
    if not isinstance(state.get("variant"), str):
        raise WeightsError(f"{shown(path)}: a translate checkpoint whose variant is not a name")
    spec = ModelSpec(state["variant"], {}, config, plugin=plugin)
    if not isinstance(state.get("nets"), dict):
        raise WeightsError(f"{shown(path)}: a translate checkpoint without its nets")
    variant, nets = _build_variant(spec, plugins, str(path), present=_numel(state["nets"]))
    translators = variant.translators(nets)
    needed = _nets_used(nets, translators)
    ema = state.get("ema") or {}
    for key in needed:
        if key not in state["nets"]:
            raise WeightsError(f"{path} has no weights for net '{key}' (has: {', '.join(sorted(state['nets']))})")
        weights = ema.get(key) or state["nets"][key]  # the averaged weights, where the run kept them
        load_into(nets[key], weights, f"{path}:{'ema.' if key in ema else ''}{key}")
    class_names = [str(c) for c in ((state.get("data") or {}).get("class_names") or [])]
    metas = {name: TranslatorMeta.from_dict(variant.translator_meta(name, net), f"{path}: translator '{name}'")
             .with_class_names(class_names) for name, net in translators.items()}
    spec.translators = metas
    if isinstance(state.get("provenance"), dict) and state["provenance"]:
        spec.extra["provenance"] = {"trained": state["provenance"]}
    return _model(path, "checkpoint", spec, dict(translators))


def _nets_used(nets: dict[str, Any], translators: dict[str, Any]) -> list[str]:
    """Keys of the nets the translators are, contain, or are part of (all nets if none match)."""
    used = []
    for key, net in nets.items():
        inside = {id(m) for m in net.modules()}
        if any(id(t) in inside or any(m is net for m in t.modules()) for t in translators.values()):
            used.append(key)
    return used or list(nets)


def _build_variant(spec: ModelSpec, plugins: Sequence[str], source: str,
                   present: int | None = None) -> tuple[Any, dict[str, Any]]:
    """The variant instance and freshly built nets, from a spec's variant *name* + config.

    The variant is looked up among what is loaded (entry points, TRANSLATE_PLUGIN_PATH, the
    user's --plugin files): a model's metadata never makes anything be imported."""
    from translate import config as C
    from translate import discovery

    discovery.load_all(list(plugins))
    cls = discovery.model_variant(spec.variant, spec.plugin, source)
    known = C.fields_of(cls.config)
    cfg = C.apply(cls.config(), {k: v for k, v in (spec.config or {}).items() if k in known})
    variant = cls(cfg)
    if present is not None:
        _check_declared(lambda: variant.build(cfg), present, source)
    try:
        nets = variant.build(cfg)
    except Exception as err:
        raise WeightsError(f"{source}: cannot rebuild the '{cls.name}' nets from its config: {shown(first_line(err))}") from None
    return variant, nets


def _numel(tensors: Any) -> int:
    """Elements of the tensors in a (nested) dict of them."""
    import torch

    if isinstance(tensors, torch.Tensor):
        return tensors.numel()
    if isinstance(tensors, dict):
        return sum(_numel(v) for v in tensors.values())
    return 0


def _check_declared(build: Any, present: int, source: str) -> None:
    """Build the declared nets on the meta device (shapes only, no memory) and refuse, before any
    real allocation, a declaration needing far more values than the file holds (ngf=1500 over a
    file of ngf=64 weights would allocate gigabytes just to fail)."""
    import torch

    try:
        with torch.device("meta"):
            nets = build()
    except Exception as err:
        raise WeightsError(f"{source}: cannot build the nets it declares: {shown(first_line(err))}") from None
    modules = nets.values() if isinstance(nets, dict) else [nets]
    needed = sum(t.numel() for m in modules for t in [*m.parameters(), *m.buffers()])
    if needed > 2 * present + (1 << 20):
        raise WeightsError(f"{source}: its config declares nets of {needed:,} values but the file holds {present:,}: "
                           "refusing to build them (a config that does not belong to these weights)")


# --- safetensors + sidecar ----------------------------------------------------------------
def sidecar_path(weights: Path) -> Path:
    """`model.safetensors` -> `model.json`."""
    return weights.with_suffix(".json")


def _from_safetensors(path: Path, variant: str | None, plugins: Sequence[str]) -> Model:
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    if not path.is_file():
        raise WeightsError(f"model not found: {path}")
    try:
        with safe_open(str(path), "pt") as fh:
            header = fh.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise WeightsError(f"cannot read safetensors file {path}: {first_line(err)}") from None
    side = sidecar_path(path)
    if side.is_file():
        spec = ModelSpec.from_json(_read_capped(side), f"sidecar {side}")
    elif "translate" in header:
        spec = ModelSpec.from_json(header["translate"], f"{path} (its header)")
    elif _recognised(tensors, variant) is not None:
        return _from_state_dict(path, tensors, variant)
    else:
        raise WeightsError(f"{path} needs its sidecar {side.name} (written next to it by `translate export`)")
    nets = build_from_spec(spec, plugins, str(path), present=_numel(tensors))
    load_translator_weights(nets, tensors, str(path))
    return _model(path, "safetensors", spec, nets)


def build_from_spec(spec: ModelSpec, plugins: Sequence[str], source: str, present: int | None = None) -> dict[str, Any]:
    """Untrained translator modules, by name, as the spec describes them (with `present`, the
    number of values the weights file holds, a declaration needing far more is refused first)."""
    names = list(spec.translators)
    if spec.arch:
        from translate.nets import NETS, build_net

        name = spec.arch["name"]
        if name not in NETS:
            raise WeightsError(f"{source}: architecture '{shown(name)}' is not registered here (known: {', '.join(NETS.names())})")
        kwargs = spec.arch.get("kwargs", {})
        if present is not None:
            _check_declared(lambda: build_net(name, **kwargs), present, source)
        try:
            return {names[0]: build_net(name, **kwargs)}
        except (TypeError, ValueError) as err:
            raise WeightsError(f"{source}: cannot build architecture '{shown(name)}' from its arguments: {shown(first_line(err))}") from None
    variant, nets = _build_variant(spec, plugins, source, present)
    translators = variant.translators(nets)
    missing = [n for n in names if n not in translators]
    if missing:
        raise WeightsError(f"{source}: variant '{spec.variant}' has no translator '{missing[0]}'")
    return {n: translators[n] for n in names}


def translator_state(nets: dict[str, Any]) -> dict[str, Any]:
    """One flat state dict: plain keys for one translator, `name.` prefixes for several."""
    if len(nets) == 1:
        return dict(next(iter(nets.values())).state_dict())
    return {f"{name}.{k}": v for name, net in nets.items() for k, v in net.state_dict().items()}


def load_translator_weights(nets: dict[str, Any], tensors: dict[str, Any], source: str) -> None:
    from translate.weights import load_into

    if len(nets) == 1:
        load_into(next(iter(nets.values())), tensors, source)
        return
    for name, net in nets.items():
        prefix = f"{name}."
        own = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        load_into(net, own, f"{source} [{name}]")


# --- foreign generator layouts (registered by their plugins) --------------------------------
def _formats(variant: str | None) -> list[Any]:
    from translate import discovery
    from translate.inference.formats import formats_of

    discovery.load_all()
    return formats_of(variant)


def _recognised(sd: dict[str, Any], variant: str | None) -> Any:
    return next((f for f in _formats(variant) if f.matches(sd)), None)


def _from_state_dict(path: Path, sd: dict[str, Any], variant: str | None) -> Model:
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    candidates = _formats(variant)
    if not candidates:
        known = ", ".join(sorted({f"{f.variant} ({f.name})" for f in _formats(None)})) or "none"
        raise WeightsError(
            f"{path} is a bare state dict: only official generator layouts load that way (registered: {known}); "
            "for other variants use a run, a checkpoint or a safetensors file with its sidecar"
        )
    fmt = next((f for f in candidates if f.matches(sd)), None)
    if fmt is None:
        first = next(iter(sd))
        layouts = "; or ".join(f"{f.variant}: {f.layout}" for f in candidates)
        raise WeightsError(f"{path} does not have an official generator layout (expected {layouts}; found '{first}')")
    net, arch = fmt.build(sd, str(path))
    spec = ModelSpec(fmt.variant, {fmt.translator: fmt.meta(net, arch)}, arch=arch)
    return _model(path, "official", spec, {fmt.translator: net})


# --- ONNX -------------------------------------------------------------------------------------
def read_onnx_spec(path: Path) -> ModelSpec:
    """The translate JSON stored in an ONNX file's metadata_props (key "translate")."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:
        raise WeightsError(f"cannot read ONNX file {path}: {first_line(err)}") from None
    from translate.inference.backends import check_external_data

    check_external_data(path, model)
    props = {p.key: p.value for p in model.metadata_props}
    if "translate" not in props:
        raise WeightsError(f"{path} has no translate metadata: export it with `translate export MODEL --format onnx`")
    return ModelSpec.from_json(props["translate"], f"{path} (its metadata)")


def _from_onnx(path: Path) -> Model:
    return _model(path, "onnx", read_onnx_spec(path), onnx_path=str(path))


# --- helpers ------------------------------------------------------------------------------------
def _read_capped(path: Path) -> bytes:
    from translate.meta import MAX_JSON_BYTES

    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_JSON_BYTES + 1)
    except OSError as err:
        raise WeightsError(f"cannot read {path}: {err.strerror or err}") from None



def _torch_load(path: Path) -> Any:
    return load_torch(path, "weights")


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)
