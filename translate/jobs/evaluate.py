"""`translate eval` as a function: the figures of a trained model, next to what doing nothing scores.

- translation (AtoB, BtoA...): on held-out testA/ testB/ of the run's data (or `--data`; the
  demo's held-out scenes for demo runs), per direction X→Y: FID and KID of the translations of
  X against the real Y images, next to the baseline — FID/KID of the *untranslated* X against
  Y. With `truth` (Y holds the true translations under the same names, as the demo does):
  PSNR, SSIM and, with AlexNet weights, LPIPS against them, next to the input's own scores.
- noise generators (gan, cgan, cogan): FID/KID of samples against the training images, next to
  the floor — the FID/KID between two halves of the real images.
- super-resolution: PSNR-Y/SSIM-Y against bicubic per image set (translate.metrics.sr).

Figures go to a rich table, RUN/eval.json ("figures": flat name → value), the run's gallery
and its TensorBoard events.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from translate import config as C
from translate.errors import DataError, WeightsError
from translate.kit.figures import GENERATIVE, SUPER_RESOLUTION, TRANSLATION, explanations
from translate.metrics import fid as F
from translate.variant import option


@dataclass
class EvalConfig:
    inception_weights: str = option("", f"FID Inception-v3 weights ({F.INCEPTION_FILE}; default: torch's hub cache)")
    lpips_weights: str = option("", f"torchvision AlexNet weights ({F.ALEXNET_FILE}) for LPIPS with --truth "
                                    "(default: torch's hub cache; none: no LPIPS)")
    max_images: int = option(2000, "images per side at most (noise generators: samples drawn)", min=2)
    kid_subsets: int = option(100, "KID subsets", min=1)
    kid_subset_size: int = option(1000, "KID subset size (capped by the number of images)", min=2)
    batch_size: int = option(16, "images per forward pass", min=1)
    seed: int = option(0, "seed of the noise samples", min=0)


def evaluate(model: str | Path, data: str | Path | None = None, truth: bool = False, sets: dict[str, Any] | None = None,
             features: F.Features | None = None, backend: str = "auto", device: str = "auto",
             plugins: list[str] = (), direction: str | None = None) -> dict[str, Any]:  # type: ignore[assignment]
    """The JSON-ready report: {"model", "kind", "data", "figures", "notes", ...}."""
    from translate.inference.loading import open_model

    cfg = C.apply(EvalConfig(), sets or {})
    m = open_model(model, backend=backend, device=device, plugins=list(plugins))
    first = m.pick(direction)
    if first.kind == "image" and first.scale > 1:
        return _explained(_super_resolution(model, data, direction, backend, device, plugins), SUPER_RESOLUTION)
    notes: list[str] = []
    extract = features or _inception_or_note(cfg, notes, required=not truth and first.kind == "image" and
                                             not _is_demo(model, data))
    if first.kind == "noise":
        if extract is None:
            raise WeightsError(notes[0])
        report = _noise(m, model, data, cfg, extract, notes)
    else:
        report = _translation(m, model, data, truth, cfg, extract, notes, direction)
    report["notes"] = notes
    return _explained(report, GENERATIVE if first.kind == "noise" else TRANSLATION)


def _explained(report: dict[str, Any], figures: dict[str, Any]) -> dict[str, Any]:
    """The report with what each of its figures means ("explanations", read by the gallery)."""
    report["explanations"] = explanations(report.get("figures", {}), figures)
    return report


def _is_demo(model: str | Path, data: str | Path | None) -> bool:
    return data is None and _run_config(model).get("data", "set") is None


def _inception_or_note(cfg: EvalConfig, notes: list[str], required: bool) -> F.Features | None:
    try:
        return F.inception(cfg.inception_weights or None)
    except WeightsError as err:
        if required:
            raise
        notes.append(f"no FID/KID: {err}")
        return None


def _run_config(model: str | Path) -> dict[str, Any]:
    from translate.jobs.rundir import RunDir

    p = Path(model)
    run = RunDir(p) if p.is_dir() else RunDir.of_checkpoint(p)
    return run.read_config() if run is not None and run.exists() else {}


# --- translation --------------------------------------------------------------------------------
def _translation(m: Any, model: str | Path, data: str | Path | None, truth: bool, cfg: EvalConfig,
                 extract: F.Features | None, notes: list[str], direction: str | None) -> dict[str, Any]:
    domains, source, demo = _domains(model, data, cfg, notes)
    truth = truth or demo  # the demo renders every held-out scene in both styles: the answers are known
    figures: dict[str, float] = {}
    directions = []
    for name, t in m.translators.items():
        src, sep, dst = name.partition("to")
        if (direction and name != direction) or not sep or src not in domains or dst not in domains:
            continue
        inputs, targets = domains[src], domains[dst]
        outputs = _run(t, [im for _, im in inputs], cfg.batch_size)
        row: dict[str, Any] = {"direction": f"{src}→{dst}", "images": len(inputs), "targets": len(targets)}
        if extract is not None:
            f_out, f_in, f_tgt = (F.features(extract, ims, cfg.batch_size) for ims in
                                  (outputs, [im for _, im in inputs], [im for _, im in targets]))
            row.update(_fid_kid(f_out, f_tgt, cfg, name), **_fid_kid(f_in, f_tgt, cfg, name, "_baseline"))
        if truth:
            row.update(_truth(name, inputs, outputs, dict(targets), cfg, notes))
        figures.update({k: v for k, v in row.items() if isinstance(v, float)})
        directions.append(row)
    if not directions:
        raise DataError(f"{source}: no domain folders the translators {', '.join(m.translators)} can be scored on "
                        "(expected testA/ testB/, A/ B/ or trainA/ trainB/)")
    return {"model": str(model), "kind": "translation", "data": source, "truth": truth, "figures": figures,
            "directions": directions}


def _domains(model: str | Path, data: str | Path | None, cfg: EvalConfig,
             notes: list[str]) -> tuple[dict[str, list[tuple[str, np.ndarray]]], str, bool]:
    """{domain letter: [(file name, HxWxC uint8)]} of held-out images, where they came from, and
    whether they are the demo's (whose truth is known)."""
    from translate.data.images import list_images, load_image
    from translate.data.unpaired import find_domain_dirs

    saved = _run_config(model)
    data = data if data is not None else saved.get("data")
    if data is None:
        return _demo_domains(saved, cfg), "the demo's held-out scenes", True
    from translate.data.bundle import resolve_path

    root = resolve_path(data)
    dirs = find_domain_dirs(root, "test")
    if dirs is None:
        dirs = find_domain_dirs(root, "train")
        if dirs is None:
            raise DataError(f"{root}: no testA/ testB/, A/ B/ or trainA/ trainB/ folders to evaluate on")
        notes.append(f"{root} has no testA/ testB/: scored on the training images, which the model has seen")
    channels = int((saved.get("model") or {}).get("channels", 3))
    out = {}
    for letter, folder in zip("AB", dirs):
        files = list_images(folder)[: cfg.max_images]
        if not files:
            raise DataError(f"no images in {folder}")
        out[letter] = [(p.name, load_image(p, channels)) for p in files]
    return out, str(root), False


def _demo_domains(saved: dict[str, Any], cfg: EvalConfig) -> dict[str, list[tuple[str, np.ndarray]]]:
    from translate.data.demos.apples import HELD_OUT_SCENES, TEST_SCENE_OFFSET, render, scene

    size = int((saved.get("model") or {}).get("image_size", 32))
    n = min(cfg.max_images, HELD_OUT_SCENES)  # the scenes training's end scored too
    ids = range(TEST_SCENE_OFFSET, TEST_SCENE_OFFSET + n)
    return {s: [(f"{i}.png", render(scene(i), s, size)) for i in ids] for s in "AB"}


def _run(t: Any, images: list[np.ndarray], batch: int) -> list[np.ndarray]:
    """Translations of `images` (same-size ones batched), in order."""
    from translate.data.images import same_size_batches

    out: list[np.ndarray] = [None] * len(images)  # type: ignore[list-item]
    for part in same_size_batches(images, batch):
        for i, y in zip(part, t.translate_batch([images[i] for i in part])):
            out[i] = y
    return out


def _fid_kid(a: np.ndarray, b: np.ndarray, cfg: EvalConfig, name: str, suffix: str = "") -> dict[str, float]:
    mean, std = F.kid(a, b, cfg.kid_subsets, cfg.kid_subset_size)
    return {f"fid_{name}{suffix}": F.fid(a, b), f"kid_{name}{suffix}": 1000 * mean, f"kid_std_{name}{suffix}": 1000 * std}


def _truth(name: str, inputs: list[tuple[str, np.ndarray]], outputs: list[np.ndarray], targets: dict[str, np.ndarray],
           cfg: EvalConfig, notes: list[str]) -> dict[str, float]:
    """PSNR/SSIM (and LPIPS) of the translations and, as the baseline, of the inputs, against the
    same-named true translations."""
    import torch

    from translate.metrics.image import psnr, ssim

    pairs = [(im, out, targets[n]) for (n, im), out in zip(inputs, outputs) if n in targets
             and targets[n].shape == out.shape]
    if not pairs:
        notes.append(f"{name}: no true translations with the same names and sizes: no PSNR/SSIM")
        return {}

    def t(images: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1

    x, y, gt = (t([p[i] for p in pairs]) for i in range(3))
    scores = {f"psnr_{name}": psnr(y, gt).item(), f"psnr_{name}_baseline": psnr(x, gt).item(),
              f"ssim_{name}": ssim(y, gt).mean().item(), f"ssim_{name}_baseline": ssim(x, gt).mean().item()}
    try:
        distance = F.lpips(cfg.lpips_weights or None)
    except WeightsError as err:
        if cfg.lpips_weights:
            raise
        if not any(n.startswith("no LPIPS") for n in notes):
            notes.append(f"no LPIPS: {err}")
        return scores
    with torch.no_grad():
        scores[f"lpips_{name}"] = distance(y, gt).mean().item()
        scores[f"lpips_{name}_baseline"] = distance(x, gt).mean().item()
    return scores


# --- noise generators ---------------------------------------------------------------------------
def _noise(m: Any, model: str | Path, data: str | Path | None, cfg: EvalConfig, extract: F.Features,
           notes: list[str]) -> dict[str, Any]:
    from translate.inference.sample import latents

    saved = _run_config(model)
    first = next(t for t in m.translators.values() if t.kind == "noise")
    size = first.meta.image_size or 64
    real, source = _real_images(data if data is not None else saved.get("data"), size, first.meta.out_channels, cfg)
    f_real = F.features(extract, real, cfg.batch_size)
    half = len(f_real) // 2
    figures: dict[str, float] = {}
    figures.update({k.replace("_real", "_baseline"): v for k, v in
                    _fid_kid(f_real[:half], f_real[half:], cfg, "real").items()})
    rng = np.random.default_rng(cfg.seed)
    for name, t in m.translators.items():
        if t.kind != "noise":
            continue
        z = latents(rng, len(real), t.meta.z_dim, t.meta.z_dist)
        labels = np.arange(len(real)) % t.num_classes if t.num_classes else None
        fake = [im for i in range(0, len(z), 64) for im in t.generate(z[i : i + 64], None if labels is None
                                                                       else labels[i : i + 64])]
        figures.update(_fid_kid(F.features(extract, fake, cfg.batch_size), f_real, cfg, name))
    notes.append(f"baseline: FID/KID between two halves of the {len(real)} real images (the floor at this size)")
    return {"model": str(model), "kind": "noise", "data": source, "figures": figures}


def _real_images(data: Any, size: int, channels: int, cfg: EvalConfig) -> tuple[list[np.ndarray], str]:
    if data is None:
        from translate.data.demos.glyphs import HELD_OUT_OFFSET, render_many

        images, _ = render_many(range(HELD_OUT_OFFSET, HELD_OUT_OFFSET + min(cfg.max_images, 1000)), size)
        return [np.repeat(im[..., None], 3, -1) if im.ndim == 2 else im for im in images], "the glyph demo"
    from PIL import Image, ImageOps

    from translate.data.bundle import resolve_path
    from translate.data.images import list_images, open_image, to_mode

    root = resolve_path(data)
    files = list_images(root)[: cfg.max_images]
    if len(files) < 4:
        raise DataError(f"{root}: FID/KID need at least 4 real images, found {len(files)}")
    out = []
    for p in files:
        with open_image(p) as img:
            img = ImageOps.fit(to_mode(img, channels), (size, size), Image.Resampling.BICUBIC)
            out.append(np.asarray(img)[..., None] if channels == 1 else np.asarray(img))
    return out, str(root)


# --- super-resolution ---------------------------------------------------------------------------------
def _super_resolution(model: Any, data: Any, direction: str | None, backend: str, device: str,
                      plugins: list[str]) -> dict[str, Any]:
    from translate.metrics.sr import evaluate_sr

    if data is None:
        raise DataError("super-resolution eval needs --data: a folder of HR images (or Set5/, Set14/... subfolders)")
    _, report = evaluate_sr(model, [data] if not isinstance(data, list) else data, direction, backend, device,
                            None, list(plugins))
    report["kind"] = "super-resolution"
    report["figures"] = {f"{k}/{s['name']}": s[k] for s in report["sets"]
                         for k in ("psnr_y", "psnr_y_bicubic", "psnr_y_gain", "ssim_y", "ssim_y_bicubic")}
    return report


def quality_gate(reference: dict[str, float], candidate: dict[str, float], tolerance_db: float = 0.3) -> dict[str, Any]:
    """Does `candidate` (e.g. a bf16 run) keep the quality of `reference` (the fp32 run)? Every
    ground-truth PSNR figure both have (psnr_*, not the do-nothing baselines) may fall by at most
    `tolerance_db`. Returns {"ok", "worst_drop_db", "drops": {figure: dB lower}}."""
    keys = [k for k in reference if k.startswith("psnr") and k in candidate and "baseline" not in k
            and "identity" not in k and "bicubic" not in k]
    drops = {k: float(reference[k]) - float(candidate[k]) for k in keys}
    worst = max(drops.values(), default=float("nan"))
    return {"ok": bool(keys) and worst <= tolerance_db, "worst_drop_db": worst, "drops": drops}
