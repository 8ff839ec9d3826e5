"""The model card that goes with every shared or exported model: README.md with YAML front matter
(what `huggingface_hub.ModelCard` parses) and a body a person reads.

Front matter: library_name translate, pipeline_tag image-to-image (unconditional-image-generation
for noise models), tags (the variant, gan, image-to-image), datasets, license, metrics. Body: what
it translates, the sample, the recipe (key config), steps and training time, evaluation figures
with their baselines (RUN/eval.json), provenance (versions, git SHA) and how to use it (CLI, Python
API, ONNX). Everything comes from the files of the run, never from the clock, so one run gives
one card byte for byte.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from translate.meta import ModelSpec
from translate.jobs.rundir import RunDir

RECIPE_KEYS = ("generator", "discriminator", "ngf", "ndf", "n_blocks", "norm", "adversarial", "lambda_cycle",
               "lambda_identity", "lambda_l1", "lambda_content", "lr", "beta1", "batch_size", "image_size",
               "load_size", "epochs", "decay_epochs", "lr_schedule", "z_dim", "scale", "init_from")


@dataclass
class CardFacts:
    """What a card says, gathered from a loaded model and (if it came from one) its run."""

    name: str
    spec: ModelSpec
    repo_id: str = ""  # OWNER/NAME when the card goes to the Hub
    files: dict[str, str] = field(default_factory=dict)  # role ("weights", "onnx:AtoB", "sample") -> file name
    config: dict[str, Any] = field(default_factory=dict)  # the run's config.yaml
    summary: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    license: str = "other"


def run_of(source: str | Path) -> RunDir | None:
    """The run a weights source belongs to (a run dir, or a checkpoint inside one)."""
    p = Path(source)
    if p.is_dir():
        return RunDir(p.parent if p.name == "checkpoints" else p)
    return RunDir.of_checkpoint(p) if p.suffix == ".pt" else None


def gather(name: str, spec: ModelSpec, source: str | Path, **kw: Any) -> CardFacts:
    """CardFacts of a model, with its run's config, summary, eval.json and provenance when it has a run."""
    facts = CardFacts(name, spec, **kw)
    run = run_of(source)
    if run is not None and run.exists():
        facts.config = run.read_config()
        facts.summary = run.read_json(run.summary_path)
        facts.evaluation = run.read_json(run.eval_path)
        facts.sessions = list(run.read_json(run.provenance_path).get("sessions", []))
    return facts


def _data_name(facts: CardFacts) -> str:
    data = facts.config.get("data") or ""
    return Path(str(data)).name if data else ""


def _is_noise(facts: CardFacts) -> bool:
    return any(m.is_noise for m in facts.spec.translators.values())


def front_matter(facts: CardFacts) -> dict[str, Any]:
    variant = facts.spec.variant
    meta: dict[str, Any] = {
        "library_name": "translate",
        "pipeline_tag": "unconditional-image-generation" if _is_noise(facts) else "image-to-image",
        "tags": sorted({variant, "gan", "image-to-image", "translate"}),
        "license": facts.license,
    }
    if _data_name(facts):
        meta["datasets"] = [_data_name(facts)]
    figures = _figures(facts)
    if figures:
        meta["metrics"] = sorted({k.split("_")[0] for k in figures})
    return meta


def _figures(facts: CardFacts) -> dict[str, float]:
    figures = facts.evaluation.get("figures") or {}
    if not figures:  # the end-of-run summary's held-out PSNR, when no `translate eval` ran
        figures = {k: v for k, v in facts.summary.items() if k.startswith("psnr")}
    return {k: float(v) for k, v in figures.items() if isinstance(v, (int, float))}


def _what(facts: CardFacts) -> str:
    parts = []
    for t, meta in facts.spec.translators.items():
        src, sep, dst = t.partition("to")
        if meta.is_noise:
            parts.append(f"`{t}`: images from noise (z of {meta.z_dim})" + (f", {meta.num_classes} classes" if meta.num_classes else ""))
        elif sep:
            parts.append(f"`{t}`: domain {src} → domain {dst}")
        else:
            parts.append(f"`{t}`: {meta.in_channels}-channel images → {meta.out_channels}-channel images"
                         + (f", ×{meta.scale}" if meta.scale != 1 else ""))
    data = _data_name(facts)
    head = f"A **{facts.spec.variant}** model made with [translate](https://pypi.org/project/translate-gan/)"
    return head + (f", trained on **{data}**" if data else "") + ".\n\n" + "\n".join(f"- {p}" for p in parts)


def _recipe(facts: CardFacts) -> str:
    model = facts.config.get("model") or facts.spec.config or facts.spec.arch or {}
    if "kwargs" in model:  # an architecture spec: its arguments are the recipe
        model = {"architecture": model.get("name"), **model["kwargs"]}
    rows = [(k, v) for k, v in model.items() if k in RECIPE_KEYS or k == "architecture"]
    if not rows:
        return "Not recorded (the weights came without their training config)."
    return "| key | value |\n|---|---|\n" + "\n".join(f"| `{k}` | `{v}` |" for k, v in rows)


def _training(facts: CardFacts) -> str:
    s = facts.summary
    if not s:
        return "Not recorded."
    steps = s.get("steps", "?")
    seconds = float(s.get("seconds", 0) or 0)
    device = (facts.config.get("engine") or {}).get("device", "")
    took = f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"
    return (f"{steps} steps in {took}" + (f", device `{device}`" if device else "")
            + (", interrupted" if s.get("interrupted") else "") + ".")


def _evaluation(facts: CardFacts) -> str:
    figures = _figures(facts)
    if not figures:
        return "No evaluation recorded: run `translate eval RUN` before pushing to include FID/KID and PSNR figures."
    lines = ["| figure | value | baseline |", "|---|---|---|"]
    for k, v in figures.items():
        if k.endswith("_baseline") or k == "psnr_identity":
            continue
        base = figures.get(f"{k}_baseline", figures.get("psnr_identity") if k.startswith("psnr") else None)
        lines.append(f"| `{k}` | {v:.4g} | {'' if base is None else f'{base:.4g}'} |")
    source = "`translate eval`" + (f" on {facts.evaluation.get('data')}" if facts.evaluation.get("data") else "") \
        if facts.evaluation else "the end-of-run held-out check"
    return ("\n".join(lines) + f"\n\nFrom {source}. Baselines: the same figure for the untranslated input "
            "(FID/KID of the inputs against the targets, PSNR of doing nothing).")


def _provenance(facts: CardFacts) -> str:
    trained = facts.sessions[-1] if facts.sessions else (facts.spec.extra.get("provenance") or {}).get("trained") or {}
    if not trained:
        return "Not recorded."
    keys = ("translate", "torch", "torchvision", "python", "cuda")
    parts = [f"{k} {trained[k]}" for k in keys if trained.get(k)]
    git = (trained.get("git") or {}).get("project")
    return ", ".join(parts) + (f"; git `{git}`" if git else "") + (f"; {len(facts.sessions)} training session(s)"
                                                                 if facts.sessions else "") + "."


def _usage(facts: CardFacts) -> str:
    first = next(iter(facts.spec.translators))
    weights = facts.files.get("weights", "model.safetensors")
    if not facts.repo_id and "weights" not in facts.files and "onnx" in facts.files:
        weights = facts.files["onnx"]
    where = f"hf://{facts.repo_id}" if facts.repo_id else weights
    noise = _is_noise(facts)
    cli = f"translate sample {where} grid.png" if noise else f"translate convert {where} photos/ out/ --direction {first}"
    z_dim = facts.spec.translators[first].z_dim
    py = (("import numpy as np\n" if noise else "from PIL import Image\n") + "import translate\n\n"
          f"t = translate.load(\"{where}\", \"{first}\")\n"
          + (f"images = t.generate(np.random.default_rng(0).standard_normal((16, {z_dim}), dtype=np.float32))"
             if noise else "out = t(Image.open(\"photo.jpg\"))  # full resolution, a PIL image back"))
    onnx = [f for role, f in facts.files.items() if role.startswith("onnx")]
    text = f"```bash\npip install 'translate-gan[hub]'\n{cli}\n```\n\n```python\n{py}\n```\n"
    if onnx:
        text += (f"\nONNX ({', '.join(f'`{f}`' for f in onnx)}): `translate convert {onnx[0]} photos/ out/`, or any "
                 "onnxruntime session (input `image`, NCHW float32 in the range stored in the file's metadata).\n")
    else:
        text += f"\nONNX: `translate export {where} --format onnx` writes one with a parity check.\n"
    return text


def _role(role: str) -> str:
    named = {"weights": "the weights (safetensors)", "sidecar": "how to rebuild the nets (JSON: variant, config, translators)",
             "sample": "a sample grid", "onnx": "ONNX graph"}
    if role.startswith("onnx int8-"):
        return f"int8 ONNX graph of {role.removeprefix('onnx int8-')}"
    if role.startswith("onnx-"):
        return f"ONNX graph of {role.removeprefix('onnx-')}"
    return named.get(role, role)


def render(facts: CardFacts) -> str:
    """The README.md text: front matter + body."""
    head = yaml.safe_dump(front_matter(facts), sort_keys=False, allow_unicode=True).strip()
    sample = facts.files.get("sample")
    body = [f"# {facts.name}", _what(facts)]
    if sample:
        body += ["## Sample", f"![sample]({sample})"]
    body += ["## Recipe", _recipe(facts), "## Training", _training(facts), "## Evaluation", _evaluation(facts),
             "## Provenance", _provenance(facts), "## How to use it", _usage(facts)]
    files = "\n".join(f"- `{f}`: {_role(role)}" for role, f in facts.files.items())
    if files:
        body += ["## Files", files + "\n\nWeights are safetensors (+ a JSON sidecar naming a registered variant) "
                 "or ONNX: loading them never runs code."]
    return f"---\n{head}\n---\n\n" + "\n\n".join(body).rstrip() + "\n"


def write_beside(model: Any, paths: list[Path], names: list[str]) -> Path:
    """`translate export`'s card: OUTPUT.md next to the exported file(s), for the translators in them."""
    from translate.files import atomic_write

    first = Path(paths[0])
    roles = {".safetensors": "weights", ".json": "sidecar", ".onnx": "onnx"}
    files = {roles.get(p.suffix, p.suffix): Path(p).name for p in paths}
    spec = model.spec.subset([n for n in names if n in model.spec.translators])
    spec.translators = {n: model.metas[n] for n in names}
    exported = first.with_name(first.name.split(".")[0] + ".md")
    facts = gather(first.name.split(".")[0], spec, model.source, files=files)
    return atomic_write(exported, render(facts).encode())


def read_card(model_file: str | Path) -> dict[str, Any]:
    """The front matter of the translate model card beside `model_file` — README.md of a Hub repo,
    or STEM.md beside an export — with `card` its path; {} when there is none (or it is another
    project's README, or not a card at all: a card is data, read with the capped YAML loader)."""
    import re

    from translate.config import load_yaml

    path = Path(model_file)
    for card in (path.parent / "README.md", path.with_name(path.name.split(".")[0] + ".md")):
        try:
            if not card.is_file() or card.stat().st_size > 1 << 20:
                continue
            m = re.match(r"---\n(.*?)\n---\n", card.read_text(encoding="utf-8", errors="replace"), re.S)
            meta = load_yaml(m.group(1)) if m else None
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(meta, dict) and meta.get("library_name") == "translate":
            return {**meta, "card": card}
    return {}

