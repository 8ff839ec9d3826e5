"""What the demo page says about the model beside the photos: variant, data, generator, the
checkpoint served and its step, and the figures its run or export recorded (with what they mean)."""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from translate.files import shown
from translate.jobs.gallery import explain
from translate.jobs.rundir import RunDir

if TYPE_CHECKING:
    from translate.app.session import Session

Row = tuple[str, str, str]  # (what, value, explanation)
KINDS = {"checkpoint": "training checkpoint", "safetensors": "safetensors file", "official": "official CycleGAN generator",
         "onnx": "ONNX model"}
ARCH_KEYS = ("generator", "ngf", "n_blocks", "nf", "norm", "scale", "image_size")


def arrow(direction: str) -> str:
    """"AtoB" -> "A→B" (other translator names as they are)."""
    m = re.fullmatch(r"([A-Za-z0-9]+)to([A-Z][A-Za-z0-9]*)", direction)
    return f"{m.group(1)}→{m.group(2)}" if m else direction


def model_facts(session: Session) -> list[Row]:
    base, spec = session.base, session.base.spec
    run = session.run or (RunDir.of_checkpoint(session.checkpoint) if session.checkpoint else None)
    config = run.read_config() if run else {}
    kind = "training run" if session.run else KINDS.get(base.kind, base.kind)
    if base.kind == "onnx" and spec is not None and "quantization" in spec.extra:
        kind = "int8 ONNX model"
    rows: list[Row] = [("model", f"{session.model} ({kind})", "")]
    variant = (spec.variant if spec else "") or str(config.get("variant", ""))
    if variant:
        rows.append(("variant", variant, _description(variant)))
    if run is not None:
        data = config.get("data")
        rows.append(("data", str(data) if data else "the built-in demo data", ""))
    rows.append(("generator", _generator(spec, config), ""))
    t = base.pick(session.directions[0])
    size = "any size" + (f" (padded to a multiple of {t.size_multiple}, cropped back)" if t.size_multiple > 1 else "")
    rows.append(("input", size + (f", output ×{t.scale}" if t.scale != 1 else ""), ""))
    if session.checkpoint is not None:
        rows += _serving(session, run)
    rows += _figures(run)
    for (backend, direction), file in sorted(session.exports.items()):
        older = session.checkpoint is not None and _mtime(file) < _mtime(session.checkpoint)
        rows.append((f"{backend} file", f"{file.name}" + (" (older than the checkpoint served)" if older else ""),
                     f"what the {backend} back end runs for {arrow(direction)}"))
    if spec is not None:
        rows += _export_facts(spec.extra)
    if run is None:
        rows += _card_facts(base.source)
    if session.note:
        rows.append(("note", session.note, ""))
    return rows


def _description(variant: str) -> str:
    from translate.variant import VARIANTS

    return str(getattr(VARIANTS.get(variant), "description", "")) if variant in VARIANTS else ""


def _generator(spec: Any, config: dict[str, Any]) -> str:
    model = (spec.config if spec is not None and spec.config else None) or config.get("model") or {}
    if spec is not None and spec.arch:
        kwargs = spec.arch.get("kwargs", {})
        return f"{spec.arch['name']} " + ", ".join(f"{k}={v}" for k, v in kwargs.items() if k in ARCH_KEYS)
    parts = [f"{k}={model[k]}" for k in ARCH_KEYS[1:] if k in model and model[k] not in ("", None)]
    return f"{model.get('generator', '?')}" + (f" ({', '.join(parts)})" if parts else "")


def _serving(session: Session, run: RunDir | None) -> list[Row]:
    ckpt = session.checkpoint
    assert ckpt is not None
    step = session.step
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(_mtime(ckpt)))
    value = f"{ckpt.name}" + (f" (step {step:,})" if step is not None else "") + f", written {when}"
    why = "the newest checkpoint of the run; a newer one is picked up when it lands" if session.run else ""
    rows = [("checkpoint", value, why)]
    summary = run.read_json(run.summary_path) if run else {}
    if "steps" in summary:
        rows.append(("steps trained", f"{summary['steps']:,} of {summary.get('total_steps', summary['steps']):,}", ""))
    return rows


def _figures(run: RunDir | None) -> list[Row]:
    if run is None:
        return []
    values = {k: v for k, v in run.read_json(run.summary_path).items() if isinstance(v, (int, float)) and explain(k)}
    values.update({k: v for k, v in run.read_json(run.eval_path).get("figures", {}).items() if isinstance(v, (int, float))})
    return [(k, f"{v:.4g}", explain(k)) for k, v in values.items()]


def _export_facts(extra: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    q = extra.get("quantization")
    if isinstance(q, dict):
        quality = q.get("quality") if isinstance(q.get("quality"), dict) else q
        if isinstance(quality.get("psnr_vs_fp32"), (int, float)):
            speed = quality.get("speedup_vs_fp32")
            rows.append(("int8 vs fp32", f"{quality['psnr_vs_fp32']:.1f} dB" + (f", {speed:.2f}× faster" if isinstance(
                speed, (int, float)) else ""), "PSNR of the int8 output against the fp32 output on held-out photos, at export"))
    exported = (extra.get("provenance") or {}).get("exported") if isinstance(extra.get("provenance"), dict) else None
    if isinstance(exported, dict) and exported.get("time"):
        rows.append(("exported", str(exported["time"]), ""))
    return rows


def _card_facts(source: str) -> list[Row]:
    """What the model card beside a Hub or exported file says (data, licence), and where it is."""
    from translate.hub.card import read_card

    card = read_card(source)
    if not card:
        return []
    rows: list[Row] = []
    datasets = card.get("datasets")
    if isinstance(datasets, list) and datasets:
        rows.append(("data", ", ".join(shown(d, 80) for d in datasets[:5]), "what it was trained on, says its card"))
    if card.get("license"):
        rows.append(("licence", shown(card["license"], 80), ""))
    return rows + [("model card", card["card"].name, "the model's README: recipe, training, figures, provenance")]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
