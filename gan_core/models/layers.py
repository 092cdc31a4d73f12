"""Layers of the DCGAN family: conditional batch norm, minibatch statistics, spectral norm."""

from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift are looked up per class (de Vries et al. 2017).

    y = gamma[c] * (x - mu) / sigma + beta[c]; gamma starts at 1 and beta at 0, so an
    untrained conditional G behaves like the unconditional one. `y` may also be a (B, K)
    matrix of class weights, which blends classes (class interpolation).
    """

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Embedding(num_classes, channels)  # per-class scale
        self.beta = nn.Embedding(num_classes, channels)  # per-class shift
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        h = self.bn(x)  # (B, C, H, W)
        if y.dim() == 2:  # soft class weights (B, K)
            gamma, beta = y @ self.gamma.weight, y @ self.beta.weight
        else:
            gamma, beta = self.gamma(y), self.beta(y)  # (B, C)
        return gamma[:, :, None, None] * h + beta[:, :, None, None]


class MinibatchStdDev(nn.Module):
    """Append one channel: the mean standard deviation over groups of the batch (Karras et al. 2018).

    D sees how varied a batch is, so a generator that collapses to few images is easy to spot.
    """

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        g = min(self.group_size, b)
        while b % g:  # largest group size that divides the batch
            g -= 1
        y = x.float().reshape(g, -1, c, h, w)  # (G, B/G, C, H, W)
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (B/G, C, H, W)
        y = y.mean(dim=(1, 2, 3)).to(x.dtype)  # (B/G,)
        y = y.repeat(g).view(b, 1, 1, 1).expand(b, 1, h, w)
        return torch.cat([x, y], dim=1)


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016, section 3.2).

    Features f (B, F) are projected by a tensor T to M (B, K, D); for each kernel k,
    o(x_i)_k = sum_{j != i} exp(-||M_ik - M_jk||_1). The K similarities are returned,
    (B, K): samples that look alike produce large values, which D learns to punish.
    """

    def __init__(self, in_features: int, kernels: int, kernel_dim: int):
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.1)

    def forward(self, f: Tensor) -> Tensor:
        m = (f.float() @ self.T.float()).view(-1, self.kernels, self.kernel_dim)  # (B, K, D)
        dist = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)  # (B, B, K) L1 distances
        return (torch.exp(-dist).sum(1) - 1.0).to(f.dtype)  # (B, K), minus the self term exp(0)


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018): W / sigma(W), one power iteration per step."""
    if not enabled:
        return module
    return nn.utils.parametrizations.spectral_norm(module)
