"""Mode coverage on data whose modes are known: labelled image sets and 2D Gaussian mixtures.

Images: a small CNN, trained here in seconds on the real images of a labelled ImageSet,
labels generated samples; the histogram of those labels gives the modes covered and its KL
divergence to the real histogram. For Stacked Digits (one digit per RGB channel, 1,000
modes; the Stacked MNIST protocol of VEEGAN and PacGAN) one digit classifier is trained on
the single channels and applied to each channel: mode = 100 r + 10 g + b.

2D toys: a sample is high quality if within 3 standard deviations of its nearest centre
(Unrolled GAN / VEEGAN), and a mode counts as covered when enough high-quality samples land
on it (the rule is in `toy_mode_coverage`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_core.data.imageset import ImageSet
from gan_core.metrics.features import to_unit_float

CLASSIFIER_RES = 16  # images are classified at 16 x 16: enough for digits and shapes, fast


def _small_cnn(in_channels: int, num_classes: int) -> nn.Module:
    """(B, C, 16, 16) in [-1, 1] -> (B, num_classes) logits; about 57k parameters."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),  # 8 x 8
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2),  # 4 x 4
        nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(64, num_classes),
    )


def _prepare(images, value_range: tuple[float, float]) -> torch.Tensor:
    """(N, C, H, W) uint8 / float -> (N, C, 16, 16) float32 in [-1, 1]."""
    x = to_unit_float(images, value_range)
    if x.shape[-2:] != (CLASSIFIER_RES, CLASSIFIER_RES):
        x = F.interpolate(x, size=(CLASSIFIER_RES, CLASSIFIER_RES), mode="bilinear", antialias=True, align_corners=False)
    return x * 2.0 - 1.0


def is_stacked(imageset: ImageSet) -> bool:
    """True for a Stacked Digits set: 3 channels, 1,000 classes named "000".."999"."""
    return imageset.channels == 3 and imageset.class_names == [f"{k:03d}" for k in range(1000)]


@dataclass
class ModeClassifier:
    """A classifier of generated images into the known modes of a labelled set.

    Build with `ModeClassifier.fit(imageset)`; `predict(images)` gives one mode per image.
    """

    net: nn.Module  # the CNN, in eval mode
    in_channels: int  # channels the CNN reads (1 for digits and per-channel stacked digits)
    num_classes: int  # modes of the set (1,000 for stacked digits)
    per_channel: bool  # stacked digits: classify each RGB channel as one digit
    val_accuracy: float = float("nan")  # accuracy on held-out real images (per channel if stacked)
    class_names: list[str] = field(default_factory=list)

    @classmethod
    def fit(
        cls,
        imageset: ImageSet,
        *,
        per_channel: bool | None = None,
        steps: int = 250,
        max_train: int = 20000,
        batch_size: int = 64,
        lr: float = 2e-3,
        val_fraction: float = 0.1,
        seed: int = 0,
    ) -> "ModeClassifier":
        """Train on `imageset`'s real images and labels; seeded, a few seconds on CPU.

        per_channel: None detects Stacked Digits (`is_stacked`); then each distinct channel
        image is one training image labelled with its digit (label // 100, // 10 % 10, % 10).
        steps: Adam steps of `batch_size` images (one-cycle learning rate), whatever the
        set's size, so fitting takes a few seconds; max_train caps the images kept (drawn
        once, seeded) so big sets stay small in memory. The held-out `val_fraction` gives
        `val_accuracy`, which says how far the classifier's labels can be trusted.
        """
        per_channel = is_stacked(imageset) if per_channel is None else per_channel
        images, labels = imageset.images, imageset.labels
        if per_channel:
            digits = np.stack([labels // 100, labels // 10 % 10, labels % 10], axis=1)  # (N, 3)
            images = images.reshape(-1, 1, *images.shape[2:])  # (3N, 1, H, W)
            labels = digits.reshape(-1)
            # The channels repeat a few source digits many times: keep each distinct image
            # once, so the held-out split holds digits never trained on and stays honest.
            _, first = np.unique(images.reshape(len(images), -1), axis=0, return_index=True)
            first.sort()
            images, labels = images[first], labels[first]
            num_outputs = 10
        else:
            num_outputs = imageset.num_classes
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(images))
        n_val = max(1, int(round(val_fraction * len(images)))) if val_fraction > 0 else 0
        val_idx, train_idx = order[:n_val], order[n_val:][:max_train]
        if len(train_idx) < 2:
            raise ValueError(f"a mode classifier needs at least 2 training images, {imageset.name or 'the set'} has {len(images)}")
        x_train = _prepare(images[train_idx], (-1.0, 1.0))
        y_train = torch.as_tensor(labels[train_idx], dtype=torch.long)

        with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
            torch.manual_seed(seed)
            net = _small_cnn(images.shape[1], num_outputs)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, steps))
        net.train()
        batches: list[torch.Tensor] = []
        for _ in range(steps):
            if not batches:  # a new epoch: reshuffle, drop a last batch too small for BatchNorm
                perm = torch.as_tensor(rng.permutation(len(x_train)))
                batches = [b for b in perm.split(batch_size) if len(b) >= 2][::-1]
            idx = batches.pop()
            loss = F.cross_entropy(net(x_train[idx]), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        net.eval()
        clf = cls(net, images.shape[1], imageset.num_classes, per_channel, class_names=list(imageset.class_names))
        if n_val:
            pred = clf._predict_single(_prepare(images[val_idx], (-1.0, 1.0)))
            clf.val_accuracy = float((pred == labels[val_idx]).mean())
        return clf

    @torch.inference_mode()
    def _predict_single(self, x: torch.Tensor, batch_size: int = 512) -> np.ndarray:
        out = [self.net(x[s : s + batch_size]).argmax(1) for s in range(0, len(x), batch_size)]
        return torch.cat(out).numpy().astype(np.int64) if out else np.zeros(0, np.int64)

    def predict(self, images, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
        """Mode of each image, int64 (N,) in [0, num_classes).

        images: (N, C, H, W), uint8 in [0, 255] or float in `value_range` (a generator's
        tanh output by default); any size (resized to 16 px). RGB input to a grey
        classifier is averaged to grey (an ImageFolder loader turns grey PNGs into RGB);
        grey input to an RGB classifier is repeated.
        """
        x = _prepare(images, value_range)  # (N, C, 16, 16)
        if self.per_channel:
            if x.shape[1] != 3:
                raise ValueError(f"stacked digits need RGB images, got {x.shape[1]} channel(s)")
            d = self._predict_single(x.reshape(-1, 1, *x.shape[2:])).reshape(-1, 3)  # (N, 3)
            return 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]
        if x.shape[1] != self.in_channels:
            x = x.mean(1, keepdim=True) if self.in_channels == 1 else x.expand(-1, self.in_channels, -1, -1)
        return self._predict_single(x)


def class_histogram(labels, num_classes: int) -> np.ndarray:
    """Counts per class, int64 (num_classes,)."""
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)[:num_classes]


def mode_coverage(
    pred_labels, num_classes: int, real_hist=None, min_count: int = 1
) -> dict[str, float]:
    """Modes covered and KL divergence of generated labels to the real class distribution.

    pred_labels: (N,) ints in [0, num_classes) (e.g. `ModeClassifier.predict` on samples).
    real_hist: (num_classes,) counts or probabilities of the real data; None = uniform.
    A mode is covered when at least `min_count` samples fall in it (Stacked MNIST counts
    a mode with a single sample).

        KL(p_gen || p_real) = sum_k p_gen(k) log(p_gen(k) / p_real(k))   (nats)

    0 when the histograms match, log(K) for a fully collapsed generator against a uniform
    K-class reference. Classes with p_real = 0 are smoothed to 1e-12 (a generator that
    produces a class the data never has is penalised heavily, not infinitely).
    """
    counts = class_histogram(pred_labels, num_classes).astype(np.float64)
    if counts.sum() == 0:
        raise ValueError("mode_coverage needs at least one predicted label")
    p_gen = counts / counts.sum()
    ref = np.ones(num_classes) if real_hist is None else np.asarray(real_hist, dtype=np.float64)
    if ref.shape != (num_classes,) or ref.sum() <= 0:
        raise ValueError(f"real_hist must be {num_classes} non-negative numbers with a positive sum")
    p_ref = np.maximum(ref / ref.sum(), 1e-12)
    nz = p_gen > 0
    kl = float(np.sum(p_gen[nz] * np.log(p_gen[nz] / p_ref[nz])))
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "num_modes": num_classes,
        "kl": max(kl, 0.0),
    }


def toy_mode_coverage(samples, centers, std: float, min_count: int | None = None) -> dict:
    """Modes covered and % high-quality samples of 2D samples from a Gaussian mixture.

    samples (N, 2), centers (K, 2), std: the mixture components' standard deviation.
    A sample is high quality (HQ) when within 3 std of its nearest centre (Unrolled GAN,
    VEEGAN). A mode is covered when at least `min_count` HQ samples have it as nearest
    centre. Default min_count = max(1, ceil(20 N / 2500)): PacGAN's threshold of 20 HQ
    samples out of 2,500, scaled to N, so a few stray points do not count as a captured
    mode (pass min_count=1 for the most lenient reading).

    Returns modes_covered (int), num_modes (K), high_quality_pct (0..100), min_count,
    hq_per_mode (K counts).
    """
    x = np.asarray(samples, dtype=np.float64)
    c = np.asarray(centers, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2 or c.ndim != 2 or c.shape[1] != 2 or len(c) == 0:
        raise ValueError(f"samples must be (N, 2) and centers (K, 2), got {x.shape} and {c.shape}")
    if not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    n = len(x)
    if min_count is None:
        min_count = max(1, math.ceil(20 * n / 2500))
    finite = np.isfinite(x).all(axis=1)  # a diverged generator's NaNs are never high quality
    d = np.linalg.norm(x[finite, None, :] - c[None, :, :], axis=2)  # (N_finite, K)
    nearest = d.argmin(axis=1) if len(d) else np.zeros(0, np.int64)
    hq = d[np.arange(len(d)), nearest] <= 3.0 * std
    per_mode = np.bincount(nearest[hq], minlength=len(c))
    return {
        "modes_covered": int((per_mode >= min_count).sum()),
        "num_modes": len(c),
        "high_quality_pct": 100.0 * float(hq.sum()) / n if n else 0.0,
        "min_count": int(min_count),
        "hq_per_mode": per_mode.tolist(),
    }
