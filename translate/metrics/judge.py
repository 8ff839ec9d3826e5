"""A small independent classifier that judges generated images (trained on real data only).

`cached_classifier` trains one (Adam, cross-entropy, inputs randomly blurred and noised so it
judges shapes rather than crisp edges) and caches its weights (safetensors) in the cache
folder: $TRANSLATE_CACHE, else $XDG_CACHE_HOME/translate, else ~/.cache/translate. `judge_of(truth)`
is the judge of a demo's ground truth: a stand-in given as truth["classifier"] (tests), else one
trained on truth["judge"] (a `JudgeData`: the glyph demo's 3,000 real glyphs train it in well
under a minute on a CPU); its cache key is the data's key and this file's source hash, so a
changed demo or recipe retrains.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from kornia.filters import gaussian_blur2d
from safetensors.torch import load_file, save
from torch import Tensor, nn

from translate.files import atomic_write
from translate.nets import init_weights


class SmallClassifier(nn.Module):
    """3 × [Conv 3×3 + BN + ReLU] (max-pooling between) → global average → linear; `features` = the pooled vector."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(4 * w, num_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def degrade(x: Tensor, g: torch.Generator) -> Tensor:
    """Random blur (σ up to 1.2 px, half the images) and Gaussian noise (σ up to 0.25): a judge
    trained on these reads shapes, not the crisp edges and flat tones of the real renderings."""
    n = x.shape[0]
    sigma = torch.rand(n, generator=g) * 1.2
    blurred = x.clone()
    pick = torch.rand(n, generator=g) < 0.5
    for i in pick.nonzero().flatten().tolist():
        s = max(float(sigma[i]), 0.3)
        blurred[i] = gaussian_blur2d(x[i : i + 1], (5, 5), (s, s))[0]
    noise = torch.randn(x.shape, generator=g) * (torch.rand(n, 1, 1, 1, generator=g) * 0.25)
    return (blurred + noise).clamp(-1, 1)


def train_classifier(
    images: Tensor, labels: Tensor, num_classes: int, epochs: int = 3, batch_size: int = 64, lr: float = 3e-3,
    seed: int = 0, augment: Callable[[Tensor, torch.Generator], Tensor] | None = degrade,
) -> SmallClassifier:
    """Fit a SmallClassifier (Adam, cross-entropy, one-cycle LR) on images in [-1, 1], each batch
    passed through `augment`; leaves the global RNG untouched. Returns it in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = init_weights(SmallClassifier(images.shape[1], num_classes))
        opt = torch.optim.Adam(net.parameters(), lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * (len(images) // batch_size))
        g = torch.Generator().manual_seed(seed)
        net.train()
        with torch.enable_grad():
            for _ in range(epochs):
                order = torch.randperm(len(images), generator=g)
                for i in range(len(images) // batch_size):
                    idx = order[i * batch_size : (i + 1) * batch_size]
                    x = images[idx] if augment is None else augment(images[idx], g)
                    loss = F.cross_entropy(net(x), labels[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
        recalibrate_norms(net, images, batch_size)
    return net.eval()


@torch.no_grad()
def recalibrate_norms(net: nn.Module, images: Tensor, batch_size: int) -> None:
    """Set BatchNorm running statistics to the exact averages over `images` under the final
    weights (the momentum averages lag behind weights that moved fast in a short training)."""
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    net.train()
    for chunk in images.split(batch_size):
        net(chunk)
    for m in norms:
        m.momentum = 0.1


@torch.no_grad()
def accuracy(net: nn.Module, images: Tensor, labels: Tensor) -> float:
    return float((net(images).argmax(1) == labels).double().mean())


def cache_dir() -> Path:
    if os.environ.get("TRANSLATE_CACHE"):
        return Path(os.environ["TRANSLATE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "translate"


def judge_of(truth: dict) -> tuple[nn.Module, float]:
    """(classifier, its accuracy on real held-out data) for a demo's ground truth."""
    import hashlib

    if "classifier" in truth:
        return truth["classifier"]()
    data = truth["judge"]
    recipe = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:10]
    return cached_classifier(f"{data.key}-{recipe}", data.make, data.num_classes)


def cached_classifier(
    key: str, make_data: Callable[[], tuple[Tensor, Tensor, Tensor, Tensor]], num_classes: int
) -> tuple[SmallClassifier, float]:
    """(classifier, held-out accuracy on real data): from the cache, or trained on
    `make_data()` = (train images, train labels, test images, test labels) and cached."""
    path = cache_dir() / "classifiers" / f"{key}.safetensors"
    if path.is_file():
        try:
            from safetensors import safe_open

            with safe_open(str(path), "pt") as fh:
                meta = json.loads(fh.metadata()["meta"])
            net = SmallClassifier(meta["in_channels"], num_classes)
            net.load_state_dict(load_file(str(path)))
            return net.eval(), float(meta["real_accuracy"])
        except (OSError, KeyError, ValueError, RuntimeError):
            pass  # unreadable or stale cache entry: train again and overwrite it
    x, y, x_test, y_test = make_data()
    net = train_classifier(x, y, num_classes)
    acc = accuracy(net, x_test, y_test)
    meta = {"in_channels": int(x.shape[1]), "real_accuracy": acc}
    tensors = {k: v.contiguous() for k, v in net.state_dict().items()}
    atomic_write(path, save(tensors, metadata={"meta": json.dumps(meta)}))  # concurrent runs never read half a file
    return net, acc
