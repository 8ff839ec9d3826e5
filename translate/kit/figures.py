"""What reported figures mean: `Figure` (one line of explanation) and the figures the core
computes per kind of model, so every table of numbers can say what each number is.

A variant declares the figures its `evaluate` reports (`Variant.figures`, merged over
`TRANSLATION`); the trainer writes their explanations into summary.json and `translate eval`
into eval.json ("explanations"), which is where the gallery and the CLI read them. Keys ending
in "_" explain every figure they prefix ("psnr_" explains psnr_AtoB: "{d}" becomes "A→B").
Torch-free: the gallery reads it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """A reported figure's one-line explanation (shown next to it)."""

    explanation: str


# figures of image translators against held-out truth, and `translate eval`'s FID/KID
TRANSLATION = {
    "psnr_identity": Figure("baseline: the PSNR of leaving the input unchanged (A compared with the true B): "
                            "what doing nothing scores"),
    "psnr_": Figure("PSNR (dB) of {d} against the true target of held-out pairs (higher is better)"),
    "ssim_": Figure("SSIM of {d} against the true target (1 = identical)"),
    "lpips_": Figure("LPIPS of {d} against the true target (lower is better)"),
    "fid_": Figure("FID of {d} outputs against real target-domain images, Inception-v3 features (lower is better)"),
    "kid_": Figure("KID ×1000 of {d} outputs against real target-domain images (lower is better)"),
}
# super-resolution against bicubic upscaling (translate.metrics.sr)
SUPER_RESOLUTION = {
    "psnr_y": Figure("PSNR on the luma channel (dB) of the model's upscaling against the HR image, border = scale cropped"),
    "psnr_y_bicubic": Figure("baseline: the same PSNR-Y for bicubic upscaling"),
    "psnr_y_gain": Figure("PSNR-Y of the model minus bicubic's (dB): above 0 the model beats bicubic"),
    "ssim_y": Figure("SSIM on luma (1 = identical) of the model's upscaling"),
    "ssim_y_bicubic": Figure("baseline: SSIM-Y of bicubic"),
}
# noise-driven generators, judged by a classifier (translate.metrics.generative)
GENERATIVE = {
    "fd": Figure("Fréchet distance of samples to real images in the demo judge's feature space (lower is better)"),
    "fd_real_baseline": Figure("baseline: the same distance between two halves of the real images (the floor)"),
    "class_share_min": Figure("share of samples in the rarest class the judge sees (every class should get some)"),
    "class_share_max": Figure("share of samples in the commonest class"),
    "classes_covered": Figure("classes with ≥ 3 % of the samples"),
    "label_accuracy": Figure("share of samples the judge classifies as the class that was asked for"),
    "label_accuracy_min": Figure("the same, for the worst class"),
    "classifier_real_accuracy": Figure("the judge's accuracy on real held-out images (how far to trust it)"),
    "pair_psnr": Figure("PSNR of G2(z) against the known mapping of G1(z): are the pairs corresponding?"),
    "unpaired_psnr": Figure("baseline: the same for mismatched pairs"),
    "pair_psnr_gain": Figure("paired minus unpaired PSNR (dB)"),
}
EVERY_KIND = {**TRANSLATION, **SUPER_RESOLUTION, **GENERATIVE}  # for runs written before figures were declared


def explain(key: str, figures: Mapping[str, Figure]) -> str:
    """The explanation of `key` among `figures` (the exact key, else the longest matching prefix)."""
    if key in figures:
        return figures[key].explanation
    for prefix in sorted((k for k in figures if k.endswith("_") and key.startswith(k)), key=len, reverse=True):
        rest = key[len(prefix):]
        text = figures[prefix].explanation
        if rest.endswith("_baseline"):
            what = "the untranslated inputs" if prefix in ("fid_", "kid_") else "the inputs"
            return "baseline: " + text.format(d=what).replace(" outputs", "") + " — what doing nothing scores"
        return text.format(d=rest.replace("to", "→") if "to" in rest else rest)
    return ""


def explanations(keys: Iterable[str], figures: Mapping[str, Figure]) -> dict[str, str]:
    """{key: explanation} for the `keys` that `figures` explains (what summary.json / eval.json keep)."""
    out = {}
    for key in keys:
        text = explain(key.split("/")[0], figures)
        if text:
            out[key] = text
    return out
