"""A history of generated images for the discriminator update (Shrivastava et al. 2017), as
CycleGAN uses it: fill up to `size`; afterwards, with probability 1/2 return a stored image
(replacing it by the new one), else the new one. Images are kept, and returned, in fp32
whatever precision produced them; the pool is part of a run's checkpointed state."""
from __future__ import annotations

import torch
from torch import Tensor


class ImagePool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[Tensor] = []

    def query(self, images: Tensor) -> Tensor:
        images = images.detach().float()
        if self.size == 0:
            return images
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()).item() < 0.5:
                i = int(torch.randint(self.size, ()).item())
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)
