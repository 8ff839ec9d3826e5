"""Quality figures for generative models, judged by an independent classifier.

- `frechet_distance`: the Fréchet distance between Gaussians fitted to two feature sets
  (FID's formula; here in the judging classifier's feature space, not Inception's).
- `class_histogram` / `per_class_accuracy`: what the classifier sees in generated samples
  (mode coverage of an unconditional GAN; label fidelity of a conditional one).
- `pair_consistency`: for coupled generators, how well G2(z) matches the known mapping of
  G1(z), next to the same measure for unrelated pairs (G2(z') against G1(z)).

`coverage_scores` (unconditional samples), `label_scores` (class-conditional samples) and
`coupled_scores` (pairs of coupled generators) bundle them into the figures the demos print
(explained in translate.kit.figures.GENERATIVE).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from translate.metrics.image import psnr


def _gaussian(features: Tensor) -> tuple[Tensor, Tensor]:
    f = features.detach().double().flatten(1)
    mu = f.mean(0)
    centred = f - mu
    return mu, centred.T @ centred / max(1, f.shape[0] - 1)


def _sqrt_psd(m: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix (eigenvalues clamped at 0)."""
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def frechet_distance(a: Tensor, b: Tensor) -> float:
    """‖μa − μb‖² + tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½) of feature sets a [N, D] and b [M, D]."""
    mu_a, cov_a = _gaussian(a)
    mu_b, cov_b = _gaussian(b)
    root_a = _sqrt_psd(cov_a)
    cross = _sqrt_psd(root_a @ cov_b @ root_a)  # same trace as (Σa Σb)^½, but symmetric
    value = (mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross.trace()
    return max(0.0, float(value))  # rounding can leave identical sets a hair below 0


def class_histogram(pred: Tensor, num_classes: int) -> Tensor:
    """Share of samples per predicted class, [num_classes], summing to 1."""
    counts = torch.bincount(pred.flatten().long().cpu(), minlength=num_classes).double()
    return counts / counts.sum().clamp_min(1)


def per_class_accuracy(pred: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """Accuracy among the samples of each target class, [num_classes] (NaN for absent classes)."""
    pred, target = pred.flatten().long().cpu(), target.flatten().long().cpu()
    hits = torch.bincount(target[pred == target], minlength=num_classes).double()
    total = torch.bincount(target, minlength=num_classes).double()
    return hits / total  # 0/0 → NaN marks a class that was never asked for


def pair_consistency(
    x1: Tensor, x2: Tensor, mapping: Callable[[Tensor], Tensor], value_range: tuple[float, float]
) -> tuple[float, float]:
    """(PSNR of x2 against mapping(x1) pair by pair, the same for mismatched pairs x2[i+1] vs x1[i])."""
    target = mapping(x1)
    paired = psnr(x2, target, value_range).item()
    unpaired = psnr(x2.roll(1, 0), target, value_range).item()
    return paired, unpaired


def known_mapping(name: str, value_range: tuple[float, float]) -> Callable[[Tensor], Tensor]:
    """A named correspondence between two domains: "invert" (colour inversion) or "identity"."""
    lo, hi = value_range
    mappings: dict[str, Callable[[Tensor], Tensor]] = {"invert": lambda x: (lo + hi) - x, "identity": lambda x: x}
    if name not in mappings:
        raise ValueError(f"unknown mapping '{name}' (known: {', '.join(mappings)})")
    return mappings[name]


@torch.no_grad()
def classify(classifier: nn.Module, images: Tensor, batch: int = 500) -> tuple[Tensor, Tensor]:
    """(predicted classes [N], features [N, D]) of images in [-1, 1], batch by batch."""
    preds, feats = [], []
    param = next(iter(classifier.parameters()), None)
    device = param.device if param is not None else images.device
    for chunk in images.split(batch):
        chunk = chunk.to(device, torch.float32)
        f = classifier.features(chunk)
        preds.append(classifier.head(f).argmax(1).cpu())
        feats.append(f.float().cpu())
    return torch.cat(preds), torch.cat(feats)


def coverage_scores(classifier: nn.Module, fake: Tensor, real: Tensor, num_classes: int, min_share: float = 0.03) -> dict[str, float]:
    """Mode coverage and Fréchet distance of unconditional samples (all images in [-1, 1]).

    `real` is split in two halves: the first is the reference, and the distance between the
    halves (`fd_real_baseline`) is the noise floor of the distance at this sample size.
    """
    pred, f_fake = classify(classifier, fake)
    _, f_real = classify(classifier, real)
    half = f_real.shape[0] // 2
    hist = class_histogram(pred, num_classes)
    return {
        "class_share_min": hist.min().item(),
        "class_share_max": hist.max().item(),
        "classes_covered": float((hist >= min_share).sum().item()),
        "fd": frechet_distance(f_fake, f_real[:half]),
        "fd_real_baseline": frechet_distance(f_real[half:], f_real[:half]),
    }


def label_scores(
    classifier: nn.Module, fake: Tensor, requested: Tensor, real: Tensor, class_names: Sequence[str]
) -> dict[str, float]:
    """Label fidelity (does the classifier see the class that was asked for?) and Fréchet distance."""
    pred, f_fake = classify(classifier, fake)
    _, f_real = classify(classifier, real)
    acc = per_class_accuracy(pred, requested, len(class_names))
    scores = {
        "label_accuracy": (pred == requested.cpu()).double().mean().item(),
        "label_accuracy_min": acc.nan_to_num(1.0).min().item(),
        "fd": frechet_distance(f_fake, f_real[: f_real.shape[0] // 2]),
        "fd_real_baseline": frechet_distance(f_real[f_real.shape[0] // 2 :], f_real[: f_real.shape[0] // 2]),
    }
    scores.update({f"label_accuracy/{name}": a.item() for name, a in zip(class_names, acc) if not a.isnan()})
    return scores


def coupled_scores(
    classifier: nn.Module | None,
    x1: Tensor,
    x2: Tensor,
    mapping: Callable[[Tensor], Tensor],
    value_range: tuple[float, float],
) -> dict[str, float]:
    """Pair consistency of coupled samples (x1, x2) = (G1(z), G2(z)) under the known mapping
    x2 ≈ mapping(x1): PSNR paired vs unpaired, and — with a classifier of domain-1 images —
    how often G1(z) and mapping⁻¹(G2(z)) (the mapping must be an involution) get the same class."""
    paired, unpaired = pair_consistency(x1, x2, mapping, value_range)
    scores = {"pair_psnr": paired, "unpaired_psnr": unpaired, "pair_psnr_gain": paired - unpaired}
    if classifier is not None:
        lo, hi = value_range

        def to_pm1(x: Tensor) -> Tensor:
            return (x.float() - lo) / (hi - lo) * 2 - 1

        p1, _ = classify(classifier, to_pm1(x1))
        p2, _ = classify(classifier, to_pm1(mapping(x2)))
        scores["pair_class_agreement"] = (p1 == p2).double().mean().item()
        scores["unpaired_class_agreement"] = (p1 == p2.roll(1, 0)).double().mean().item()
    return scores
