"""VGG19 perceptual (content) loss of SRGAN, with weights from a local file — never a download.

Layer φi,j is, as in Ledig et al. (Sec. 2.2.2), "the feature map obtained by the j-th
convolution (after activation) before the i-th maxpooling layer": φ5,4 (the default) is the
ReLU output of the 4th conv of block 5, i.e. torchvision's `vgg19().features[:36]`.
The network is frozen (eval mode, no parameter grads), its input is ImageNet-normalised
inside the loss, and both feature maps are multiplied by `rescale` (the paper's 1/12.75)
before the MSE.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import Tensor, nn

from translate.errors import ConfigError, WeightsError
from translate.files import first_line, load_torch
from translate.kit.losses import Frozen, mse
from translate.weights import load_into

# torchvision's VGG19 ("configuration E"): numbers are 3×3 conv widths, "M" a 2×2 max-pool.
VGG19_PLAN: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
)
VGG19_FILE = "vgg19-dcbb9e9d.pth"
VGG19_URL = f"https://download.pytorch.org/models/{VGG19_FILE}"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def parse_layer(layer: str) -> tuple[int, int]:
    """'54', '5_4', '5,4' or 'relu5_4' → (block 5, conv 4)."""
    m = re.fullmatch(r"(?:relu)?(\d)\D?(\d)", str(layer).strip().lower())
    if not m:
        raise ConfigError(f"VGG layer '{layer}' not understood; write block and conv, e.g. 54 (φ5,4) or 22")
    block, conv = int(m.group(1)), int(m.group(2))
    convs_per_block = [2, 2, 4, 4, 4]
    if not (1 <= block <= 5 and 1 <= conv <= convs_per_block[block - 1]):
        raise ConfigError(f"VGG19 has no layer φ{block},{conv}; blocks 1-2 have 2 convs, blocks 3-5 have 4")
    return block, conv


def vgg19_cut(layer: str) -> int:
    """How many modules of torchvision's `vgg19().features` make φi,j (conv + ReLU pairs, pools)."""
    block, conv = parse_layer(layer)
    index, b, j = 0, 1, 0
    for item in VGG19_PLAN:
        if item == "M":
            b, j, index = b + 1, 0, index + 1
            continue
        j, index = j + 1, index + 2  # conv, ReLU
        if (b, j) == (block, conv):
            return index
    raise AssertionError("unreachable")  # pragma: no cover


def vgg19_features(layer: str = "54") -> nn.Sequential:
    """Randomly initialised VGG19 features up to φi,j; module indices (and so state-dict keys)
    are those of torchvision's `vgg19().features`."""
    cut, layers, cin = vgg19_cut(layer), [], 3
    for item in VGG19_PLAN:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, int(item), 3, padding=1), nn.ReLU(inplace=True)]
            cin = int(item)
        if len(layers) >= cut:
            break
    return nn.Sequential(*layers[:cut])


def default_weights_path() -> Path:
    """Where torchvision keeps its VGG19 download: <torch hub dir>/checkpoints/vgg19-dcbb9e9d.pth."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE


def _read_state(path: Path) -> dict[str, Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = load_torch(path, "VGG19 weights")
    except WeightsError:
        raise
    except Exception as err:
        raise WeightsError(f"cannot read VGG19 weights {path}: {first_line(err)}") from None
    if not isinstance(state, dict):
        raise WeightsError(f"{path} is not a VGG19 state dict")
    return state


def load_vgg19(layer: str = "54", weights: str | Path | None = None) -> nn.Sequential:
    """VGG19 features up to φi,j with ImageNet weights from `weights` or torchvision's cache."""
    path = Path(weights).expanduser() if weights else default_weights_path()
    if not path.is_file():
        where = f"{path} does not exist" if weights else f"not in torchvision's cache ({path})"
        raise WeightsError(
            f"VGG19 weights needed for the perceptual loss: {where}; download {VGG19_URL} "
            f"to {default_weights_path()} or pass --set vgg_weights=PATH"
        )
    state = _read_state(path)
    net = vgg19_features(layer)
    own = set(net.state_dict())
    features = {k.removeprefix("features."): v for k, v in state.items()}
    load_into(net, {k: v for k, v in features.items() if k in own}, str(path))
    return net


class PerceptualLoss(nn.Module):
    """MSE between rescaled features of a frozen network: ‖s·φ(pred) − s·φ(target)‖² (mean).

    Inputs are images in `in_range` (SRGAN: [-1, 1]); they are mapped to [0, 1] and
    ImageNet-normalised here, so the caller never normalises anything.
    """

    def __init__(self, features: nn.Module, in_range: tuple[float, float] = (-1.0, 1.0), rescale: float = 1 / 12.75) -> None:
        super().__init__()
        self.features = Frozen(features)
        self.in_range, self.rescale = in_range, rescale
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def normalise(self, x: Tensor) -> Tensor:
        lo, hi = self.in_range
        unit = (x - lo) / (hi - lo)
        if unit.shape[1] == 1:  # grayscale: the network expects RGB
            unit = unit.expand(-1, 3, -1, -1)
        return (unit - self.mean.to(unit.dtype)) / self.std.to(unit.dtype)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        with torch.no_grad():
            ref = self.features(self.normalise(target)) * self.rescale
        return mse(self.features(self.normalise(pred)) * self.rescale, ref)
