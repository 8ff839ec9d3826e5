"""A deterministic, resumable, rank-sharded sampler.

Each epoch's order comes from (seed, epoch) alone, and each item carries its own seed
for augmentation, so a resumed run (or one with another worker count) sees exactly the
same data in the same order; `start` skips what an interrupted epoch already consumed.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


def item_seed(seed: int, epoch: int, position: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919_423 + position * 104_729) % (2**31 - 1)


class EpochSampler(Sampler):
    """Yields (index, item_seed); shuffled per epoch; with world_size > 1 each rank takes
    every world_size-th item of the same permutation (padded to equal length)."""

    def __init__(self, length: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1) -> None:
        self.length, self.seed, self.shuffle = length, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self.start = 0  # items of this rank's share to skip (resume inside an epoch)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def per_rank(self) -> int:
        return -(-self.length // self.world_size)

    def __len__(self) -> int:
        return self.per_rank() - self.start

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 9973 + self.epoch)
            order = torch.randperm(self.length, generator=g).tolist()
        else:
            order = list(range(self.length))
        total = self.per_rank() * self.world_size
        order += order[: total - len(order)]
        for pos in range(self.rank + self.start * self.world_size, total, self.world_size):
            yield order[pos], item_seed(self.seed, self.epoch, pos)
