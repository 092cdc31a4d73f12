"""Handwritten digits: scikit-learn's `load_digits`, and Stacked Digits with 1,000 modes.

`digits` is the UCI optical-recognition set that ships inside scikit-learn (1,797 real
digits written by 43 people, 8x8 pixels, ink counts 0..16), so it needs no download.
`stacked_digits` follows the Stacked MNIST protocol of VEEGAN (Srivastava et al., 2017)
and PacGAN (Lin et al., 2018): three digits drawn at random, one per RGB channel, give
10^3 = 1,000 known modes for measuring mode coverage.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from gan_core.data.builtin._common import check_count, check_res
from gan_core.data.imageset import ImageSet

DIGIT_NAMES = [str(d) for d in range(10)]
_SOURCE_RES = 8  # load_digits images are 8x8
_SOURCE_MAX = 16.0  # load_digits counts ink in 4x4 blocks of a 32x32 bitmap: 0..16


def resample_matrix(src: int, dst: int, resample: int = Image.Resampling.BICUBIC) -> np.ndarray:
    """The (dst, src) matrix A with resize(x) == A @ x for a 1-D signal x under `resample`.

    Pillow's float ("F") resize is linear and separable, so resizing unit vectors gives A's
    columns, and a whole stack of images resizes as A @ X @ A.T in one vectorised product
    (identical to resizing each image with Pillow, without a Python loop over images).
    """
    columns = []
    for j in range(src):
        unit = np.zeros((1, src), np.float32)
        unit[0, j] = 1.0
        columns.append(np.asarray(Image.fromarray(unit, "F").resize((dst, 1), resample))[0])
    return np.stack(columns, axis=1).astype(np.float32)  # (dst, src)


def digits(res: int = 32) -> ImageSet:
    """scikit-learn's 1,797 handwritten digits, upscaled from 8x8 to `res` x `res`.

    Returns images uint8 (1797, 1, res, res): white strokes on black, as in MNIST, so
    ink 16 -> 255 and paper 0 -> 0 (bicubic overshoot is clipped to [0, 255]); labels
    int64 in [0, 10), about 180 per digit; class_names "0".."9". Upscaling is bicubic
    (smooth, no 8x8 blocks); the 8x8 source is what it is, so large res only blurs.
    """
    res = check_res(res, "digits")
    from sklearn.datasets import load_digits  # imported here: sklearn is slow to import

    bunch = load_digits()
    small = bunch.images.astype(np.float32) * (255.0 / _SOURCE_MAX)  # (N, 8, 8) in [0, 255]
    a = resample_matrix(_SOURCE_RES, res)  # (res, 8)
    big = np.einsum("hi,nij,wj->nhw", a, small, a, optimize=True)  # (N, res, res)
    images = np.clip(np.rint(big), 0, 255).astype(np.uint8)[:, None]  # (N, 1, res, res)
    labels = bunch.target.astype(np.int64)
    return ImageSet(images, labels, list(DIGIT_NAMES), f"digits ({len(images):,} handwritten, {res} px)")


def stacked_digits(n: int = 10000, res: int = 32, seed: int = 0) -> ImageSet:
    """`n` RGB images, each channel one digit drawn uniformly at random from `digits(res)`.

    Returns images uint8 (n, 3, res, res); labels int64 = 100 * d_red + 10 * d_green +
    d_blue in [0, 1000); class_names "000".."999". Draws are independent and uniform, as
    in the protocol, so with n = 10,000 every mode is expected to appear (a mode is missed
    with probability (1 - 1/1000)^n ~ e^-10); deterministic for a given seed.
    """
    res = check_res(res, "stacked digits")
    n = check_count(n, 1, "stacked digits")
    base = digits(res)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(base), size=(n, 3))  # (n, 3): source index per channel
    images = base.images[picks, 0]  # (n, 3, res, res): channel c holds digit picks[:, c]
    d = base.labels[picks]  # (n, 3)
    labels = (100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]).astype(np.int64)
    names = [f"{k:03d}" for k in range(1000)]
    return ImageSet(np.ascontiguousarray(images), labels, names, f"stacked digits ({n:,}, 1,000 modes, {res} px)")
