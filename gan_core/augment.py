"""DiffAugment (Zhao et al. 2020) and flips, with explicit randomness.

DiffAugment applies the same family of differentiable transforms to real and generated
images before D sees them, so D cannot memorise a small set and G still receives gradients
through the transform. Images are float in [-1, 1], shape (B, C, H, W). Random numbers come
from a CPU `torch.Generator`, so a run is reproducible on any device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _rand(shape: tuple[int, ...], gen: torch.Generator, like: Tensor) -> Tensor:
    return torch.rand(shape, generator=gen).to(device=like.device, dtype=like.dtype)


def color(x: Tensor, gen: torch.Generator) -> Tensor:
    """Random brightness (+-0.5), saturation (x[0, 2]) and contrast (x[0.5, 1.5])."""
    b = x.shape[0]
    x = x + (_rand((b, 1, 1, 1), gen, x) - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (_rand((b, 1, 1, 1), gen, x) * 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand((b, 1, 1, 1), gen, x) + 0.5) + mean


def translation(x: Tensor, gen: torch.Generator, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to `ratio` of its size, filling with zeros (mid-grey)."""
    b, c, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (b, 1, 1), generator=gen)
    tx = torch.randint(-sw, sw + 1, (b, 1, 1), generator=gen)
    gy, gx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    gy = (gy.unsqueeze(0) + ty + 1).clamp(0, h + 1)  # (B, H, W) rows in the padded image
    gx = (gx.unsqueeze(0) + tx + 1).clamp(0, w + 1)
    idx = (gy * (w + 2) + gx).view(b, 1, h * w).expand(b, c, h * w).to(x.device)
    padded = F.pad(x, [1, 1, 1, 1]).reshape(b, c, (h + 2) * (w + 2))
    return padded.gather(2, idx).view(b, c, h, w)


def cutout(x: Tensor, gen: torch.Generator, ratio: float = 0.5) -> Tensor:
    """Zero a random square of `ratio` times the image size in each image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), generator=gen) - ch // 2
    ox = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), generator=gen) - cw // 2
    gy = torch.arange(h).view(1, h, 1)
    gx = torch.arange(w).view(1, 1, w)
    inside = (gy >= oy) & (gy < oy + ch) & (gx >= ox) & (gx < ox + cw)  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(device=x.device, dtype=x.dtype)


_POLICIES = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: Tensor, policy: str, gen: torch.Generator) -> Tensor:
    """Apply a comma-separated DiffAugment policy ("color,translation,cutout"); "" is identity."""
    for name in filter(None, (p.strip() for p in policy.split(","))):
        x = _POLICIES[name](x, gen)
    return x


def hflip(x: Tensor, gen: torch.Generator) -> Tensor:
    """Flip each image left-right with probability 1/2."""
    flip = (torch.rand(x.shape[0], generator=gen) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(3), x)
