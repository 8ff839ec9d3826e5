"""`translate push`: a run (or any weights source) as the files of a Hub repo, and their upload.

    model.safetensors + model.json   every translator (prefixed keys when there are several)
    model-AtoB.onnx ...              with --onnx (one per image translator; .int8.onnx with --int8)
    sample.png                       the run's newest sample grid (else the demo picture translated)
    README.md                        the model card (translate.hub.card)

The safetensors, sidecar, sample and card are written from the run's own files only, so the
same run gives the same bytes and a second push is left out by the Hub client as unchanged.
`local_dir` writes exactly these files and uploads nothing.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from translate.errors import ConfigError
from translate.files import atomic_write
from translate.hub import card as K
from translate.hub.hf import check_repo_id, upload
from translate.inference.export import as_model, demo_image, export_onnx
from translate.inference.image_io import encode
from translate.inference.sources import sidecar_path, translator_state
from translate.inference.translator import Model

WEIGHTS = "model.safetensors"
SAMPLE = "sample.png"
PARITY = 1e-3  # the largest onnxruntime-vs-torch max |Δ| pushed without a note (as `translate export`)


@dataclass
class PushResult:
    """What went where: the repo's files (names), the folder holding them, the commit URL."""

    files: list[str]
    folder: Path
    url: str = ""
    notes: list[str] = field(default_factory=list)


def _spec_of(loaded: Model) -> Any:
    """The spec of every translator, with only the training provenance (no clock, no host)."""
    from translate.jobs.provenance import version

    names = list(loaded.metas)
    spec = loaded.spec.subset([n for n in names if n in loaded.spec.translators])
    spec.translators = {n: loaded.metas[n] for n in names}
    trained = (loaded.spec.extra.get("provenance") or {}).get("trained")
    spec.extra["provenance"] = {**({"trained": trained} if trained else {}), "shared": {"translate": version()}}
    return spec


def _write_weights(loaded: Model, out: Path) -> list[str]:
    from safetensors.torch import save

    spec = _spec_of(loaded)
    nets = {n: loaded.nets[n] for n in spec.translators}
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in translator_state(nets).items()}
    atomic_write(out / WEIGHTS, save(tensors, metadata={"translate": spec.to_json()}))
    atomic_write(sidecar_path(out / WEIGHTS), spec.to_json(indent=2).encode())
    return [WEIGHTS, sidecar_path(Path(WEIGHTS)).name]


def _write_sample(loaded: Model, source: str | Path, out: Path) -> str | None:
    """The run's newest sample grid, else the demo picture and its translation side by side."""
    run = K.run_of(source)
    if run is not None and run.samples():
        shutil.copyfile(run.samples()[-1], out / SAMPLE)
        return SAMPLE
    name, meta = next(iter(loaded.metas.items()))
    if meta.is_noise:
        return None
    import torch

    m = max(meta.size_multiple, 1)
    side = -(-64 // m) * m
    lo, hi = meta.in_range
    picture = demo_image(side, side)[..., : meta.in_channels]
    x = torch.from_numpy(picture.transpose(2, 0, 1)[None].astype(np.float32) * ((hi - lo) / 255) + lo)
    with torch.inference_mode():
        y = loaded.nets[name].eval()(x).float().numpy()[0]
    olo, ohi = meta.out_range
    shown = np.clip((y.transpose(1, 2, 0) - olo) / (ohi - olo) * 255 + 0.5, 0, 255).astype(np.uint8)
    if shown.shape[-1] == 1:
        shown = np.repeat(shown, 3, -1)
    big = np.repeat(np.repeat(picture, meta.scale, 0), meta.scale, 1)
    if big.shape[-1] == 1:
        big = np.repeat(big, 3, -1)
    encode(np.concatenate([big, shown[: big.shape[0], : big.shape[1]]], 1), out / SAMPLE)
    return SAMPLE


def write_repo(source: str | Path, out: str | Path, *, repo_id: str = "", onnx: bool = False, int8: bool = False,
               calibrate: str | Path | None = None, plugins: Sequence[str] = (), license: str = "other") -> PushResult:
    """Write the repo's files for ``source`` into ``out`` (created if needed)."""
    if int8 and calibrate is None:
        raise ConfigError("--int8 needs --calibrate FOLDER: a few of your own photos")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    loaded = as_model(source, None, plugins)
    files = dict(zip(("weights", "sidecar"), _write_weights(loaded, out)))
    notes: list[str] = []
    if onnx or int8:
        image = [n for n, m in loaded.metas.items() if not m.is_noise]
        for name in image or [None]:  # noise models: one graph of the translators sharing z
            tag = f"-{name}" if name else ""
            result = export_onnx(loaded, out / f"model{tag}.onnx", name)
            files[f"onnx{tag}"] = f"model{tag}.onnx"
            notes += result.notes
            worst = max(result.parity.values(), default=0.0)
            if worst > PARITY:
                notes.append(f"model{tag}.onnx differs from torch by up to {worst:.2e} (> {PARITY:g})")
            if int8 and name:
                export_onnx(loaded, out / f"model{tag}.int8.onnx", name, quantize="int8", calibrate=calibrate)
                files[f"onnx int8{tag}"] = f"model{tag}.int8.onnx"
    sample = _write_sample(loaded, source, out)
    if sample:
        files["sample"] = sample
    name = repo_id.split("/")[-1] if repo_id else Path(str(source).rstrip("/")).stem
    facts = K.gather(name, _spec_of(loaded), source, repo_id=repo_id, files=files, license=license)
    atomic_write(out / "README.md", K.render(facts).encode())
    return PushResult(sorted([*files.values(), "README.md"]), out, notes=notes)


def push(source: str | Path, repo_id: str, *, private: bool = False, onnx: bool = False, int8: bool = False,
         calibrate: str | Path | None = None, local_dir: str | Path | None = None, plugins: Sequence[str] = (),
         license: str = "other") -> PushResult:
    """Share ``source`` as Hub repo ``repo_id`` (``local_dir``: only write the files there)."""
    check_repo_id(repo_id)
    kw = {"repo_id": repo_id, "onnx": onnx, "int8": int8, "calibrate": calibrate, "plugins": plugins, "license": license}
    if local_dir is not None:
        return write_repo(source, local_dir, **kw)
    from translate.hub.hf import hub

    hub()  # the one-line hint before any work
    with tempfile.TemporaryDirectory(prefix="translate-push-") as tmp:
        result = write_repo(source, tmp, **kw)
        result.url = upload(Path(tmp), repo_id, private, f"translate push {Path(str(source).rstrip('/')).name}")
    result.folder = Path(repo_id)
    return result
