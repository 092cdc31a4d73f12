"""Cheap live signals of a training run, for the app's diagnosis (a few ms on 64 images).

Pure functions on tensors or arrays. Images are (B, C, H, W), uint8 in [0, 255] or float in
`value_range` (default [-1, 1], the generator's output); they are compared in [0, 1] pixel
units after an antialiased downscale to at most `size` px, which makes every signal
independent of the resolution and cheap.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from gan_core.metrics.features import to_unit_float

LIVE_RES = 32  # signals are computed on images downscaled to at most 32 x 32


def downscaled(images, size: int = LIVE_RES, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
    """(B, C, H, W) -> (B, C * h * w) float32 in [0, 1], with h = w = min(H, size).

    Precompute this once for a training set and pass the result to `nearest_neighbours`.
    """
    x = to_unit_float(images, value_range)
    if x.shape[-1] > size or x.shape[-2] > size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.flatten(1)


def _flat(images, size: int, value_range) -> torch.Tensor:
    """Images, or already-flat (B, D) output of `downscaled`, as (B, D) float32 in [0, 1]."""
    if isinstance(images, torch.Tensor) and images.ndim == 2:
        return images.float()
    return downscaled(images, size, value_range)


def grid_diversity(images, value_range: tuple[float, float] = (-1.0, 1.0), size: int = LIVE_RES) -> float:
    """Share of the grid's pixel variation that lies between samples, in [0, 1].

        diversity = sqrt( mean_p Var_i[x_ip] / Var_{i,p}[x_ip] )

    Var_i[x_ip] is pixel p's variance across the B images (mean pairwise squared distance
    / 2, per pixel); the denominator is the variance of all pixel values, which also counts
    the structure inside one image. Scale- and offset-free. 0 when all images are identical
    (mode collapse), near 1 when the images vary as much as their pixels do; a healthy run
    on real data sits in between and a falling value on the fixed-z grid signals collapse.
    Needs B >= 2; a blank grid (no variation at all) gives 0.
    """
    x = _flat(images, size, value_range).double()  # (B, D)
    if len(x) < 2:
        raise ValueError("grid_diversity needs at least two images")
    between = x.var(dim=0, unbiased=False).mean()
    total = x.var(unbiased=False)
    return float((between / total).sqrt()) if total > 1e-12 else 0.0


def _pairwise_rms(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Root-mean-square pixel distance between rows, (len(a), len(b)), in [0, 1] units."""
    return torch.cdist(a, b) / np.sqrt(a.shape[1])


def near_duplicate_fraction(
    images, threshold: float = 0.03, value_range: tuple[float, float] = (-1.0, 1.0), size: int = LIVE_RES
) -> float:
    """Share of images whose nearest other image is within `threshold` RMS pixel distance.

    Distance is the root-mean-square difference per pixel in [0, 1] units (0.03 is about 8
    grey levels on average): 0 for a grid of distinct images, 1 for a fully collapsed one.
    """
    x = _flat(images, size, value_range)
    if len(x) < 2:
        return 0.0
    d = _pairwise_rms(x, x)
    d.fill_diagonal_(float("inf"))
    return float((d.min(dim=1).values <= threshold).float().mean())


def d_saturation(d_real_prob, d_fake_prob, eps: float = 0.02) -> dict[str, float]:
    """How completely the discriminator wins, from its probabilities on a batch.

    d_real_prob, d_fake_prob: D's probability "real" on real and generated samples, in
    [0, 1] (sigmoid of the logits, whatever the loss). Returns
      d_real, d_fake: the means (the pytorch DCGAN example's D(x) and D(G(z)));
      gap: d_real - d_fake in [-1, 1];
      saturation: share of the batch D calls with certainty, (#{D(x) > 1 - eps} +
        #{D(G(z)) < eps}) / (n_real + n_fake), in [0, 1]; near 1 means the generator's
        non-saturating gradient is about to vanish (and minimax's already has).
    """
    r = torch.as_tensor(d_real_prob, dtype=torch.float64).flatten()
    f = torch.as_tensor(d_fake_prob, dtype=torch.float64).flatten()
    if len(r) == 0 or len(f) == 0:
        raise ValueError("d_saturation needs at least one real and one fake probability")
    sure = int((r > 1 - eps).sum()) + int((f < eps).sum())
    return {
        "d_real": float(r.mean()),
        "d_fake": float(f.mean()),
        "gap": float(r.mean() - f.mean()),
        "saturation": sure / (len(r) + len(f)),
    }


def nearest_neighbours(
    samples,
    train_images,
    k: int = 1,
    value_range: tuple[float, float] = (-1.0, 1.0),
    size: int = LIVE_RES,
    chunk: int = 4096,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The k training images closest to each sample, for spotting memorisation.

    samples (B, C, H, W); train_images (N, C', H', W') or the (N, D) output of
    `downscaled` (precompute it once: the training set is large). Both are compared as
    downscaled pixels; a grey set against RGB samples is repeated to RGB. Returns
    (distances (B, k) as RMS pixel distance in [0, 1], indices (B, k) int64 into
    train_images), nearest first. A distance near 0 means a copied training image.
    """
    s = _flat(samples, size, value_range)
    t = _flat(train_images, size, value_range)
    if t.shape[1] != s.shape[1]:  # grey vs RGB at the same size: repeat the grey one
        if t.shape[1] * 3 == s.shape[1]:
            t = t.view(len(t), 1, -1).expand(-1, 3, -1).reshape(len(t), -1)
        elif s.shape[1] * 3 == t.shape[1]:
            s = s.view(len(s), 1, -1).expand(-1, 3, -1).reshape(len(s), -1)
        else:
            raise ValueError(f"samples ({s.shape[1]} values) and training images ({t.shape[1]}) differ in size")
    k = min(k, len(t))
    best_d, best_i = None, None
    for start in range(0, len(t), chunk):  # keep the distance matrix small for big sets
        d = _pairwise_rms(s, t[start : start + chunk])  # (B, c)
        dk, ik = d.topk(min(k, d.shape[1]), dim=1, largest=False)
        ik = ik + start
        if best_d is None:
            best_d, best_i = dk, ik
        else:
            both_d, both_i = torch.cat([best_d, dk], 1), torch.cat([best_i, ik], 1)
            best_d, order = both_d.topk(k, dim=1, largest=False)
            best_i = both_i.gather(1, order)
    return best_d, best_i
