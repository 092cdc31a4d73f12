"""Tiny MLP generator and discriminator for 2D data (as in GAN Lab and Unrolled GAN).

Weights are initialised from an explicit `torch.Generator`, never the global RNG, so two
runs with the same seed (the playground's A/B mode) start from identical networks even
when one of them adds spectral normalisation to D.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch import Tensor

from gan_core.models.layers import maybe_spectral_norm


def _seeded_linear(fan_in: int, fan_out: int, generator: torch.Generator) -> nn.Linear:
    """nn.Linear with PyTorch's default init U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from `generator`."""
    layer = nn.Linear(fan_in, fan_out)
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


def _seeded_spectral_norm(layer: nn.Linear) -> nn.Module:
    """Spectral norm whose power-iteration vectors start at the exact top singular pair.

    PyTorch draws the initial u, v from the global RNG; the SVD makes them a function of the
    (seeded) weight alone, so runs with SN are reproducible too.
    """
    layer = maybe_spectral_norm(layer, True)
    sn = layer.parametrizations.weight[0]
    with torch.no_grad():
        u, _, vh = torch.linalg.svd(layer.parametrizations.weight.original, full_matrices=False)
        sn._u.copy_(u[:, 0])
        sn._v.copy_(vh[0])
    return layer


class ToyGenerator(nn.Module):
    """G: z (B, nz) -> x (B, 2); `layers` hidden layers of `width` ReLU units, linear output."""

    def __init__(self, nz: int, width: int, layers: int, generator: torch.Generator):
        super().__init__()
        dims = [nz] + [width] * layers
        blocks: list[nn.Module] = []
        for fan_in, fan_out in zip(dims[:-1], dims[1:]):
            blocks += [_seeded_linear(fan_in, fan_out, generator), nn.ReLU()]
        blocks.append(_seeded_linear(dims[-1], 2, generator))  # unbounded output: data are not in [-1, 1]
        self.net = nn.Sequential(*blocks)
        self.nz = nz

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)  # (B, 2)


class ToyDiscriminator(nn.Module):
    """D: x (B, 2) -> raw score (B,); LeakyReLU(0.2) hidden layers, optional spectral norm.

    LeakyReLU keeps D's decision surface and its gradient non-zero everywhere, so the view's
    heatmap and gradient arrows show something even far from the data.
    """

    def __init__(self, width: int, layers: int, sn: bool, generator: torch.Generator):
        super().__init__()
        dims = [2] + [width] * layers
        blocks: list[nn.Module] = []
        wrap = _seeded_spectral_norm if sn else (lambda m: m)
        for fan_in, fan_out in zip(dims[:-1], dims[1:]):
            blocks += [wrap(_seeded_linear(fan_in, fan_out, generator)), nn.LeakyReLU(0.2)]
        blocks.append(wrap(_seeded_linear(dims[-1], 1, generator)))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)  # (B,)
