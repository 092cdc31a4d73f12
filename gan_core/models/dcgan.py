"""DCGAN generator and discriminator (Radford et al. 2015), with optional conditioning.

G: z (B, nz) -> 4x4 by a transposed conv, then strided transposed convs double the size
up to `res`, each followed by batch norm and ReLU; tanh output in [-1, 1]. D mirrors it
with strided convs and LeakyReLU(0.2), no hidden fully connected layers, and a final 4x4
conv to one score. At res 64, nz 100 and ngf = ndf = 64 this is exactly the network of
pytorch/examples' dcgan, except that D returns the score before the sigmoid (the losses
apply it, in a numerically safer form).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch import Tensor

from gan_core.config import ModelConfig
from gan_core.models.layers import (
    ConditionalBatchNorm2d,
    MinibatchDiscrimination,
    MinibatchStdDev,
    maybe_spectral_norm,
)

MAX_MULT = 8  # widest layer = 8 x the base width, as in DCGAN at 64 px


def _n_scale(res: int) -> int:
    """Number of 2x up/down-sampling stages between 4x4 and `res`."""
    return int(math.log2(res)) - 2


class GBlock(nn.Module):
    """Transposed conv -> (conditional) batch norm -> ReLU."""

    def __init__(self, c_in: int, c_out: int, first: bool, num_classes: int):
        super().__init__()
        stride, pad = (1, 0) if first else (2, 1)  # 1x1 -> 4x4, then x2 each
        self.conv = nn.ConvTranspose2d(c_in, c_out, 4, stride, pad, bias=False)
        self.norm = (
            ConditionalBatchNorm2d(c_out, num_classes) if num_classes else nn.BatchNorm2d(c_out)
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor, y: Tensor | None) -> Tensor:
        x = self.conv(x)
        x = self.norm(x, y) if isinstance(self.norm, ConditionalBatchNorm2d) else self.norm(x)
        return self.act(x)


class Generator(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        n = _n_scale(cfg.res)
        widths = [cfg.ngf * min(MAX_MULT, 2 ** (n - 1 - i)) for i in range(n)]  # 64 px: 8,4,2,1 x ngf
        # conditional G: the class enters twice, as an embedding concatenated to z (Mirza &
        # Osindero 2014; strong from the first step) and as conditional batch norm in every block
        concat = cfg.num_classes > 0 and cfg.class_concat
        self.class_embed = nn.Embedding(cfg.num_classes, cfg.nz) if concat else None
        if self.class_embed is not None:
            nn.init.normal_(self.class_embed.weight)
        z_dim = cfg.nz * (2 if concat else 1)
        self.blocks = nn.ModuleList(
            GBlock(z_dim if i == 0 else widths[i - 1], w, i == 0, cfg.num_classes)
            for i, w in enumerate(widths)
        )
        self.to_img = nn.ConvTranspose2d(widths[-1], cfg.channels, 4, 2, 1, bias=False)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """z: (B, nz) latents; y: (B,) class indices or (B, K) class weights when conditional.

        Returns images in [-1, 1], shape (B, channels, res, res).
        """
        assert z.dim() == 2 and z.shape[1] == self.cfg.nz, f"z must be (B, {self.cfg.nz}), got {tuple(z.shape)}"
        if self.cfg.num_classes and y is None:
            raise ValueError("this generator is class-conditional: pass a class y")
        if self.class_embed is not None:
            emb = y @ self.class_embed.weight if y.dim() == 2 else self.class_embed(y)  # (B, nz)
            z = torch.cat([z, emb.to(z.dtype)], dim=1)
        x = z[:, :, None, None]  # (B, nz or 2 nz, 1, 1)
        for block in self.blocks:
            x = block(x, y)
        return torch.tanh(self.to_img(x))


class DBlock(nn.Module):
    """Strided conv -> batch norm (not on the first block, as in DCGAN) -> LeakyReLU -> dropout."""

    def __init__(self, c_in: int, c_out: int, norm: bool, bias: bool, sn: bool, dropout: float):
        super().__init__()
        self.conv = maybe_spectral_norm(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias), sn)
        self.norm = nn.BatchNorm2d(c_out) if norm else nn.Identity()
        self.act = nn.LeakyReLU(0.2, inplace=True)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.act(self.norm(self.conv(x))))


class Discriminator(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        n = _n_scale(cfg.res)
        widths = [cfg.ndf * min(MAX_MULT, 2**i) for i in range(n)]  # 64 px: 1,2,4,8 x ndf
        self.blocks = nn.ModuleList(
            DBlock(
                cfg.channels if i == 0 else widths[i - 1],
                w,
                norm=(i > 0 and cfg.d_norm == "bn"),
                bias=cfg.d_norm == "none",  # DCGAN has no conv biases in D at all
                sn=cfg.spectral_norm,
                dropout=cfg.d_dropout,
            )
            for i, w in enumerate(widths)
        )
        c = widths[-1]
        self.feature_dim = c
        self.mbstd = MinibatchStdDev(cfg.mbstd_group) if cfg.mbstd else None
        self.mbdisc = (
            MinibatchDiscrimination(c * 16, cfg.minibatch_disc, cfg.minibatch_disc_dim)
            if cfg.minibatch_disc
            else None
        )
        extra = int(cfg.mbstd) + cfg.minibatch_disc
        self.to_score = maybe_spectral_norm(
            nn.Conv2d(c + extra, 1, 4, 1, 0, bias=cfg.d_norm != "bn"), cfg.spectral_norm
        )
        # projection discriminator (Miyato & Koyama 2018): score += <embed(y), sum-pooled features>
        self.embed = nn.Embedding(cfg.num_classes, c) if cfg.num_classes else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(
        self, x: Tensor, y: Tensor | None = None, return_features: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """x: images in [-1, 1], (B, C, res, res). Returns scores (B,) [and features (B, F)]."""
        h = x
        for block in self.blocks:
            h = block(h)  # ends at (B, C, 4, 4)
        feats = h
        if self.mbstd is not None:
            h = self.mbstd(h)
        if self.mbdisc is not None:
            o = self.mbdisc(feats.flatten(1))  # (B, K)
            h = torch.cat([h, o[:, :, None, None].expand(-1, -1, 4, 4)], dim=1)
        score = self.to_score(h).flatten()  # (B,)
        if self.embed is not None:
            if y is None:
                raise ValueError("this discriminator is class-conditional: pass a class y")
            pooled = feats.sum(dim=(2, 3))  # (B, C)
            emb = y @ self.embed.weight if y.dim() == 2 else self.embed(y)
            score = score + (emb.to(pooled.dtype) * pooled).sum(1)
        if return_features:
            return score, feats.mean(dim=(2, 3))
        return score


@torch.no_grad()
def init_weights(module: nn.Module, gen: torch.Generator) -> None:
    """DCGAN's init: conv weights ~ N(0, 0.02); batch-norm scale ~ N(1, 0.02), shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            if not w.requires_grad:
                continue  # fixed layers (the random mixing of a projected D) keep their own init
            nn.init.normal_(w, 0.0, 0.02, generator=gen)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02, generator=gen)
            nn.init.zeros_(m.bias)


def build_models(cfg: ModelConfig, seed: int = 0) -> tuple[Generator, Discriminator]:
    """A freshly initialised (G, D) pair; the same seed gives the same weights everywhere."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # default inits (embeddings, SN vectors) draw from the global RNG
        g, d = Generator(cfg), Discriminator(cfg)
        gen = torch.Generator().manual_seed(seed)
        init_weights(g, gen)
        init_weights(d, gen)
    return g, d


def build_aux_discriminator(cfg: ModelConfig, seed: int = 0) -> nn.Module:
    """A freshly initialised D on frozen ImageNet features (see `projected.py`), seeded."""
    from gan_core.models.projected import ProjectedDiscriminator  # imports timm: only when asked

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 7)  # its random mixing and default inits
        d = ProjectedDiscriminator(cfg)
        init_weights(d, torch.Generator().manual_seed(seed + 7))
    return d
