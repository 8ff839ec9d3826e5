"""FID and KID from feature sets, the Inception-v3 features they are defined on, and LPIPS.

    FID = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁ Σ₂)^½        (Σ: unbiased covariance)
    KID = mean over random subsets of the unbiased MMD² with k(x, y) = (x·y/d + 1)³

(the formulas of Heusel et al. 2017 and Bińkowski et al. 2018 as torch-fidelity computes them:
100 subsets of up to 1000 samples, seed 2020). Features come from torch-fidelity's
TF-compatible Inception-v3 ("inception-v3-compat", 2048-d pool3, its own 299² resize) with
weights from a local file — read with `torch.load(weights_only=True)`, never downloaded; a
missing file is one line saying which file and where it goes. Any callable mapping uint8
[N, 3, H, W] images to [N, D] features can stand in (the tests use a small one).
"""
from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from translate.errors import WeightsError

Features = Callable[[Tensor], Tensor]  # uint8 [N, 3, H, W] -> [N, D]
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
ALEXNET_URL = f"https://download.pytorch.org/models/{ALEXNET_FILE}"


def fid(a: np.ndarray | Tensor, b: np.ndarray | Tensor) -> float:
    """The Fréchet distance of Gaussians fitted to feature sets a [N, D] and b [M, D]."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("FID needs at least 2 images on each side")
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = np.sqrt(np.linalg.eigvals(s1 @ s2).astype(np.complex128)).real.sum()
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * root)
    return max(0.0, value)  # rounding leaves identical distributions a hair below 0


def kid(a: np.ndarray | Tensor, b: np.ndarray | Tensor, subsets: int = 100, subset_size: int = 1000,
        seed: int = 2020) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD² over `subsets` random subsets of min(subset_size, N, M) samples."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("KID needs at least 2 images on each side")
    d = a.shape[1]
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values.append(within - 2 * kxy.sum() / m**2)
    return float(np.mean(values)), float(np.std(values))


@torch.no_grad()
def features(extract: Features, images: list[np.ndarray], batch_size: int = 32) -> np.ndarray:
    """[N, D] features of HxWx3 uint8 images (same-size images go through together)."""
    from translate.data.images import same_size_batches

    out: list[np.ndarray] = [None] * len(images)  # type: ignore[list-item]
    for part in same_size_batches(images, batch_size):
        x = torch.from_numpy(np.stack([_rgb(images[i]) for i in part])).permute(0, 3, 1, 2).contiguous()
        for i, f in zip(part, extract(x).double().cpu().numpy()):
            out[i] = f
    return np.stack(out)


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image, 3, -1) if image.ndim == 3 and image.shape[-1] == 1 else image


def inception(weights: str | Path | None = None, device: str | torch.device = "cpu") -> Features:
    """The FID Inception-v3 (torch-fidelity's) from a local weights file; no download, ever."""
    path = _find(weights, INCEPTION_FILE, INCEPTION_URL, "inception_weights", "FID/KID need the Inception-v3 weights")
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError:  # pragma: no cover - a dependency
        raise WeightsError("FID/KID need torch-fidelity: pip install torch-fidelity") from None
    from translate.files import load_torch

    state = load_torch(path, "Inception weights")  # data only; torch-fidelity itself would unpickle freely
    fd, name = tempfile.mkstemp(suffix=".pth")  # a tensors-only copy for torch-fidelity to read
    os.close(fd)
    tmp = Path(name)
    torch.save({k: v for k, v in state.items() if isinstance(v, Tensor)}, tmp)
    try:
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(tmp))
    except Exception as err:  # noqa: BLE001 - a file that is not these weights
        raise WeightsError(f"{path} is not the FID Inception weights ({INCEPTION_FILE}): {str(err).splitlines()[0]}") from None
    finally:
        tmp.unlink(missing_ok=True)
    net = net.to(device).eval()

    def extract(x: Tensor) -> Tensor:
        return net(x.to(device))[0].flatten(1)

    return extract


def lpips(weights: str | Path | None = None, device: str | torch.device = "cpu") -> Callable[[Tensor, Tensor], Tensor]:
    """LPIPS (AlexNet, v0.1) with the AlexNet trunk from a local torchvision weights file: images in
    [-1, 1], [N, 3, H, W] → [N] distances."""
    path = _find(weights, ALEXNET_FILE, ALEXNET_URL, "lpips_weights", "LPIPS needs torchvision's AlexNet weights")
    try:
        import lpips as lp
    except ImportError:
        raise WeightsError("LPIPS needs the lpips package: pip install lpips (or translate-gan[lpips])") from None
    from translate.files import load_torch

    state = load_torch(path, "AlexNet weights")
    with warnings.catch_warnings():  # lpips still passes torchvision's deprecated `pretrained=`
        warnings.simplefilter("ignore")
        model = lp.LPIPS(net="alex", pnet_rand=True, verbose=False)
    try:
        model.net.load_state_dict({k: state["features." + k.split(".", 1)[1]] for k in model.net.state_dict()})
    except KeyError as err:
        raise WeightsError(f"{path} is not torchvision's AlexNet ({ALEXNET_FILE}): no key {err}") from None
    model = model.to(device).eval()
    return lambda a, b: model(a.to(device), b.to(device)).flatten()


def _find(given: str | Path | None, name: str, url: str, key: str, what: str) -> Path:
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise WeightsError(f"{what}: {path} does not exist; download {url} (or pass --set {key}=PATH)")
        return path
    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    if not path.is_file():
        raise WeightsError(f"{what} ({name}), not found in {path.parent}: download {url} there, "
                           f"or pass --set {key}=PATH")
    return path
