"""Patch projection heads for contrastive losses (CUT's PatchNCE, Park et al. 2020).

One small MLP per feature layer (Linear → ReLU → Linear, `units` wide) over feature vectors
taken at random spatial positions, then L2-normalised. The input widths are those of the
features, so the heads are built from a first forward pass (a variant's
`data_dependent_initialize`). The same positions are used for every image of a batch, and
`ids` from one call (the source's features) can be passed to the next (the output's), so a
query and its positive key come from the same place.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class PatchHeads(nn.Module):
    def __init__(self, widths: Sequence[int], units: int = 256) -> None:
        super().__init__()
        self.widths, self.units = list(widths), units
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(c, units), nn.ReLU(), nn.Linear(units, units)) for c in self.widths
        )

    def forward(self, feats: Sequence[Tensor], num_patches: int,
                ids: Sequence[Tensor] | None = None) -> tuple[list[Tensor], list[Tensor]]:
        """([B·P, units] unit vectors per layer, [P] positions per layer): P = min(num_patches, H·W)
        positions drawn at random (global torch RNG) unless `ids` gives them."""
        out, used = [], []
        for i, (feat, mlp) in enumerate(zip(feats, self.mlps)):
            flat = feat.flatten(2).transpose(1, 2)  # [B, H·W, C]
            if ids is None:
                pick = torch.randperm(flat.shape[1])[: min(num_patches, flat.shape[1])].to(feat.device)
            else:
                pick = ids[i]
            x = mlp(flat[:, pick].flatten(0, 1))
            out.append(x / (x.norm(dim=1, keepdim=True) + 1e-7))
            used.append(pick)
        return out, used
