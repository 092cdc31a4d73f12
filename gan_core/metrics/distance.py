"""Distances between two sets of feature vectors: Fréchet distance, KID, precision/recall.

All take features as (N, D) arrays or tensors (any float dtype; computed in float64 where it
matters) and return plain floats. `image_metrics` runs the whole protocol on images with the
EfficientNet-Lite0 features of `features.py`; its names say which feature space was used
("FD-EffNetLite0", not "FID": FID means Inception-v3 features, which we do not ship).
"""

from __future__ import annotations

import numpy as np
import torch


def _as_f64(x) -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    a = a.astype(np.float64, copy=False)
    if a.ndim != 2:
        raise ValueError(f"features must have shape (N, D), got {a.shape}")
    return a


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (negative round-off eigenvalues -> 0)."""
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017).

        d^2 = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2))

    tr((S_a S_b)^(1/2)) is the sum of square roots of the eigenvalues of S_a S_b, computed
    from symmetric PSD problems only, so no complex round-off appears (unlike scipy's sqrtm
    on the non-symmetric product). Two equivalent routes, the cheaper one is taken:
    - feature space (N > D): eig(S_a^(1/2) S_b S_a^(1/2)), D x D;
    - sample space (N < D, e.g. 1280-d features of a few hundred images): with centred
      data A (N_a, D), B (N_b, D), S_a S_b has the nonzero eigenvalues of
      (A B^T)(A B^T)^T / ((N_a-1)(N_b-1)), so the trace is the nuclear norm
      ||A B^T||_* / sqrt((N_a-1)(N_b-1)), one SVD of an N_a x N_b matrix.
    Each set needs N >= 2.
    """
    a, b = _as_f64(feats_a), _as_f64(feats_b)
    if a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"need two (N >= 2, D) feature sets of one width, got {a.shape} and {b.shape}")
    (na, d), nb = a.shape, len(b)
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = a - mu_a, b - mu_b  # centred, (N_a, D) and (N_b, D)
    trace_a = (ca**2).sum() / (na - 1)
    trace_b = (cb**2).sum() / (nb - 1)
    if na * nb * min(na, nb) < 3 * d**3:  # rough cost of one small SVD vs three D x D eighs
        tr_sqrt = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() / np.sqrt((na - 1) * (nb - 1))
    else:
        s_a, s_b = ca.T @ ca / (na - 1), cb.T @ cb / (nb - 1)
        root_a = _psd_sqrt(s_a)
        m = root_a @ s_b @ root_a
        tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum()
    dist = float(((mu_a - mu_b) ** 2).sum() + trace_a + trace_b - 2.0 * tr_sqrt)
    return max(dist, 0.0)  # tiny negatives are round-off of an exactly-equal pair


def _poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / D + 1)^3, the kernel of Bińkowski et al. 2018."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kid(
    feats_a, feats_b, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Kernel Inception-style Distance: unbiased MMD^2 with the cubic polynomial kernel.

    For each of `subsets` random subsets of m = min(subset_size, N_a, N_b) rows drawn
    without replacement from each set:

        MMD^2_u = sum_{i!=j} k(a_i,a_j) / (m(m-1)) + sum_{i!=j} k(b_i,b_j) / (m(m-1))
                  - 2 sum_{i,j} k(a_i,b_j) / m^2

    Returns (mean, std) over subsets. Unbiased: two samples of one distribution give a mean
    near 0 that can be slightly negative.
    """
    a, b = _as_f64(feats_a), _as_f64(feats_b)
    m = min(subset_size, len(a), len(b))
    if m < 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two (N >= 2, D) feature sets of one width, got {a.shape} and {b.shape}")
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for s in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
        values[s] = (
            (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2.0 * kxy.mean()
        )
    return float(values.mean()), float(values.std())


def _kth_neighbour_radii(x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance of each row of x to its k-th nearest other row, (N,)."""
    radii = []
    for start in range(0, len(x), chunk):
        d = torch.cdist(x[start : start + chunk], x)  # (c, N); the row itself is at distance 0
        radii.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def _fraction_inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> float:
    """Share of `points` inside at least one ball (centre_j, radius_j)."""
    inside = 0
    for start in range(0, len(points), chunk):
        d = torch.cdist(points[start : start + chunk], centres)  # (c, M)
        inside += int((d <= radii[None, :]).any(dim=1).sum())
    return inside / len(points)


def precision_recall(real, fake, k: int = 3, chunk: int = 1024) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019), k-NN manifold estimates.

    The real manifold is the union of balls around each real feature with radius the
    distance to its k-th nearest real neighbour; likewise for fake.
    precision = share of fake samples inside the real manifold (are samples realistic?),
    recall = share of real samples inside the fake manifold (is the data covered?).
    Both in [0, 1]. Each set needs more than k rows.
    """
    r = torch.as_tensor(_as_f64(real))
    f = torch.as_tensor(_as_f64(fake))
    if len(r) <= k or len(f) <= k or r.shape[1] != f.shape[1]:
        raise ValueError(f"need two (N > k={k}, D) feature sets of one width, got {tuple(r.shape)} and {tuple(f.shape)}")
    r_radii = _kth_neighbour_radii(r, k, chunk)
    f_radii = _kth_neighbour_radii(f, k, chunk)
    return _fraction_inside(f, r, r_radii, chunk), _fraction_inside(r, f, f_radii, chunk)


def image_metrics(
    real_images,
    fake_images,
    *,
    value_range: tuple[float, float] = (-1.0, 1.0),
    device: str = "cpu",
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    k: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """FD, KID and precision/recall of two image sets in EfficientNet-Lite0 feature space.

    Images: (N, C, H, W), uint8 in [0, 255] or float in `value_range`. The protocol (sample
    counts, resize, normalisation) is in docs/METRICS.md; compare numbers only when the
    sample counts are equal, FD in particular is biased upwards for small N.
    """
    from gan_core.metrics.features import features

    fr = features(real_images, value_range, device=device)
    ff = features(fake_images, value_range, device=device)
    kid_mean, kid_std = kid(fr, ff, kid_subsets, kid_subset_size, seed)
    precision, recall = precision_recall(fr, ff, k)
    return {
        "FD-EffNetLite0": frechet_distance(fr, ff),
        "KID-EffNetLite0": kid_mean,
        "KID-EffNetLite0 std": kid_std,
        "precision": precision,
        "recall": recall,
        "n_real": float(len(fr)),
        "n_fake": float(len(ff)),
    }
