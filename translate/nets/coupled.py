"""Coupled nets of CoGAN (Liu & Tuzel 2016, arXiv 1606.07536): weight sharing across domains.

The generators share their FIRST layers (they decode the high-level semantics of z once)
and keep their last layer private (each renders the details of its own domain); the
discriminators keep their FIRST layer private (domain-specific low-level features) and
share the rest. `CoupledGenerator` and `CoupledDiscriminator` hold any such split; the
factories build the official 28×28 digits nets:

G shared: ConvT 4×4 s1 z→8·ngf, ConvT 3×3 s2 p1 8·ngf→4·ngf→2·ngf→ngf, each + BN(affine=False)
+ PReLU (ngf 128: 1024, 512, 256, 128); private per domain: ConvT 6×6 s1 p1 ngf→C + Sigmoid.
D private per domain: Conv 5×5 C→20 + MaxPool 2; shared: Conv 5×5 20→50 + MaxPool 2 →
Conv 4×4 50→500 + PReLU → Conv 1×1 500→1 (one logit).
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from translate.nets.registry import register_net


class CoupledGenerator(nn.Module):
    """One shared trunk, one private head per domain; G(z) returns one image per domain."""

    def __init__(self, shared: nn.Module, heads: Sequence[nn.Module], z_dim: int, out_channels: int,
                 out_range: tuple[float, float]) -> None:
        super().__init__()
        self.shared, self.heads = shared, nn.ModuleList(heads)
        self.z_dim, self.out_channels, self.out_range = z_dim, out_channels, out_range

    def forward(self, z: Tensor, domain: int | None = None) -> tuple[Tensor, ...] | Tensor:
        """Images of every domain from the same z; only domain `domain`'s image when given."""
        h = self.shared(z.reshape(z.shape[0], -1, 1, 1))  # the same code for every domain
        if domain is not None:
            return self.heads[domain](h)
        return tuple(head(h) for head in self.heads)

    def branch(self, domain: int) -> CoupledBranch:
        """A module that renders only `domain` (shares this generator's parameters)."""
        return CoupledBranch(self, domain)


class CoupledBranch(nn.Module):
    """z → the image of one domain of a CoupledGenerator (for sampling and export)."""

    def __init__(self, coupled: CoupledGenerator, domain: int) -> None:
        super().__init__()
        self.coupled, self.domain = coupled, domain
        self.z_dim, self.out_channels, self.out_range = coupled.z_dim, coupled.out_channels, coupled.out_range

    def forward(self, z: Tensor) -> Tensor:
        return self.coupled(z, domain=self.domain)


class CoupledDiscriminator(nn.Module):
    """One private stem per domain, one shared rest; D(x_1, …, x_k) returns logits [N] per domain."""

    def __init__(self, stems: Sequence[nn.Module], shared: nn.Module) -> None:
        super().__init__()
        self.stems, self.shared = nn.ModuleList(stems), shared

    def forward(self, *xs: Tensor, domain: int | None = None) -> tuple[Tensor, ...] | Tensor:
        """Logits [N] of each domain's batch; D(x, domain=i) scores one batch of domain i."""
        if domain is not None:
            (x,) = xs
            return self.shared(self.stems[domain](x)).flatten()
        if len(xs) != len(self.stems):
            raise ValueError(f"expected one batch per domain ({len(self.stems)}), got {len(xs)}")
        return tuple(self.shared(stem(x)).flatten() for stem, x in zip(self.stems, xs))


def _up(cin: int, cout: int, k: int, s: int, p: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(cin, cout, k, s, p), nn.BatchNorm2d(cout, affine=False), nn.PReLU()]


@register_net("cogan_digits_g")
def cogan_digits_g(z_dim: int = 100, out_channels: int = 1, image_size: int = 28, num_classes: int = 0,
                   width: int = 0, domains: int = 2) -> CoupledGenerator:
    """CoGAN's official 28×28 digits generator pair; `width` = ngf (0: the official 128)."""
    if image_size != 28 or num_classes:
        raise ValueError(f"the CoGAN digits generator is unconditional and 28×28 (got {image_size} px)")
    ngf = width or 128
    c = [8 * ngf, 4 * ngf, 2 * ngf, ngf]
    shared = nn.Sequential(*_up(z_dim, c[0], 4, 1, 0), *_up(c[0], c[1], 3, 2, 1),  # 1 → 4 → 7
                           *_up(c[1], c[2], 3, 2, 1), *_up(c[2], c[3], 3, 2, 1))  # → 13 → 25
    heads = [nn.Sequential(nn.ConvTranspose2d(ngf, out_channels, 6, 1, 1), nn.Sigmoid()) for _ in range(domains)]
    return CoupledGenerator(shared, heads, z_dim, out_channels, (0.0, 1.0))  # 25 → 28


@register_net("cogan_digits_d")
def cogan_digits_d(in_channels: int = 1, image_size: int = 28, num_classes: int = 0, width: int = 0,
                   domains: int = 2) -> CoupledDiscriminator:
    """CoGAN's official 28×28 digits discriminator pair; `width` scales 20/50/500 (0: official 20)."""
    if image_size != 28 or num_classes:
        raise ValueError(f"the CoGAN digits discriminator is unconditional and 28×28 (got {image_size} px)")
    c1 = width or 20
    c2, c3 = round(2.5 * c1), 25 * c1
    stems = [nn.Sequential(nn.Conv2d(in_channels, c1, 5), nn.MaxPool2d(2)) for _ in range(domains)]  # 28 → 12
    shared = nn.Sequential(nn.Conv2d(c1, c2, 5), nn.MaxPool2d(2),  # → 4
                           nn.Conv2d(c2, c3, 4), nn.PReLU(),  # → 1
                           nn.Conv2d(c3, 1, 1))
    return CoupledDiscriminator(stems, shared)
