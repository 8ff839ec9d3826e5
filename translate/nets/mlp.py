"""The original GAN's fully connected nets (Goodfellow et al. 2014, arXiv 1406.2661), optionally
class-conditional (Mirza & Osindero 2014: y one-hot, concatenated to z in G and to x in D).

G: z (+ y) → 1200 ReLU → 1200 ReLU → C·H·W → Tanh (the paper's MNIST net, with Tanh for our
[-1, 1] images instead of its sigmoid). D: x (+ y) → maxout 240 units × 5 pieces → dropout
0.5 → maxout 240 × 5 → dropout 0.5 → one logit.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from translate.nets.registry import register_net


class Maxout(nn.Module):
    """Linear to units·pieces, then the max over each unit's pieces (Goodfellow et al. 2013)."""

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(-1)


def _with_onehot(x: Tensor, labels: Tensor | None, num_classes: int) -> Tensor:
    if num_classes == 0:
        return x
    if labels is None:
        raise ValueError("this net is class-conditional: pass labels")
    return torch.cat([x, F.one_hot(labels, num_classes).to(x.dtype)], 1)


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, out_channels: int = 1, image_size: int = 28, num_classes: int = 0,
                 hidden: int = 1200) -> None:
        super().__init__()
        self.z_dim, self.out_channels, self.image_size, self.num_classes = z_dim, out_channels, image_size, num_classes
        self.main = nn.Sequential(
            nn.Linear(z_dim + num_classes, hidden), nn.ReLU(True),
            nn.Linear(hidden, hidden), nn.ReLU(True),
            nn.Linear(hidden, out_channels * image_size * image_size), nn.Tanh(),
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = _with_onehot(z.reshape(z.shape[0], -1), labels, self.num_classes)
        return self.main(h).view(z.shape[0], self.out_channels, self.image_size, self.image_size)


class MLPDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 1, image_size: int = 28, num_classes: int = 0, units: int = 240,
                 pieces: int = 5, dropout: float = 0.5) -> None:
        super().__init__()
        self.in_channels, self.image_size, self.num_classes = in_channels, image_size, num_classes
        self.main = nn.Sequential(
            Maxout(in_channels * image_size * image_size + num_classes, units, pieces), nn.Dropout(dropout),
            Maxout(units, units, pieces), nn.Dropout(dropout),
            nn.Linear(units, 1),
        )

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Logits [N]."""
        return self.main(_with_onehot(x.flatten(1), labels, self.num_classes)).flatten()


@register_net("mlp_g")
def mlp_g(z_dim: int = 100, out_channels: int = 1, image_size: int = 28, num_classes: int = 0,
          width: int = 0) -> MLPGenerator:
    """The 2014 GAN's MLP generator; `width` = hidden units (0: the paper's 1200)."""
    return MLPGenerator(z_dim, out_channels, image_size, num_classes, hidden=width or 1200)


@register_net("mlp_d")
def mlp_d(in_channels: int = 1, image_size: int = 28, num_classes: int = 0, width: int = 0,
          conditioning: str = "concat") -> MLPDiscriminator:
    """The 2014 GAN's maxout discriminator; `width` = maxout units (0: the paper's 240)."""
    if conditioning != "concat":
        raise ValueError(f"the MLP discriminator takes labels by concatenation only, not '{conditioning}'")
    return MLPDiscriminator(in_channels, image_size, num_classes, units=width or 240)
