"""A generated set with known modes: 3 shapes x 4 colours = 12 classes.

Made for tests and mode-coverage metrics: every image belongs to exactly one mode, the
modes are easy for a small classifier to tell apart, and position and size jitter give
each mode some spread. Shapes are drawn from signed distances (negative inside), with
coverage = clip(0.5 - sdf, 0, 1) per pixel, which anti-aliases the edges analytically in
one vectorised expression instead of supersampling.
"""

from __future__ import annotations

import numpy as np

from gan_core.data.builtin._common import check_count, check_res
from gan_core.data.imageset import ImageSet

SHAPES = ("circle", "square", "triangle")
COLOURS: dict[str, tuple[int, int, int]] = {  # far apart in RGB, on a black background
    "red": (230, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 90, 235),
    "yellow": (240, 210, 40),
}
# Class k is shape k // 4 in colour k % 4: "red circle", "green circle", ..., "yellow triangle".
SHAPE_CLASS_NAMES = [f"{c} {s}" for s in SHAPES for c in COLOURS]

_SIZE_RANGE = (0.16, 0.28)  # half-size of a shape as a fraction of res
_CHUNK = 256  # images per vectorised batch; bounds the float temporaries to a few MB


def _signed_distance(shape: int, dx: np.ndarray, dy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Signed distance in pixels (< 0 inside) of each pixel to a shape of kind `shape`.

    shape in {0: circle, 1: square, 2: triangle}; dx, dy (B, H, W) pixel offsets from the
    shape's centre (y down); r (B, 1, 1) half-size in pixels. Areas: circle pi r^2,
    square 2.9 r^2, triangle 2.5 r^2.
    """
    if shape == 0:
        return np.hypot(dx, dy) - r
    if shape == 1:
        return np.maximum(np.abs(dx), np.abs(dy)) - 0.85 * r
    # Upright equilateral triangle with centroid at the origin and circumradius 1.4 r:
    # the largest of the distances to its three edge lines (exact on the edges).
    ri = 0.7 * r  # inradius = circumradius / 2
    s, c = np.float32(np.sqrt(3) / 2), np.float32(0.5)
    return np.maximum(np.maximum(dy - ri, s * dx - c * dy - ri), -s * dx - c * dy - ri)


def shapes(n: int = 2000, res: int = 32, seed: int = 0) -> ImageSet:
    """`n` RGB images of one coloured shape on black, 12 balanced classes.

    Returns images uint8 (n, 3, res, res); labels int64 in [0, 12), class counts differing
    by at most one, in shuffled order; class_names like "red circle" (SHAPE_CLASS_NAMES).
    Half-size r is uniform in [0.16, 0.28] * res and the centre uniform over positions that
    keep the shape inside the frame. Deterministic for a given seed.
    """
    res = check_res(res, "shapes")
    k = len(SHAPE_CLASS_NAMES)
    n = check_count(n, k, "shapes")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % k).astype(np.int64)  # balanced, shuffled
    r = (rng.uniform(*_SIZE_RANGE, size=n) * res).astype(np.float32)  # (n,) half-size, pixels
    # the triangle reaches 1.4 r from its centroid; keep 1 px clear of the border (the same
    # margin for every shape, so position says nothing about the class)
    room = np.maximum(res - 2 * (1.4 * r + 1.0), 0.0)  # (n,) free span for the centre
    cx = (res / 2 + (rng.uniform(size=n) - 0.5) * room).astype(np.float32)
    cy = (res / 2 + (rng.uniform(size=n) - 0.5) * room).astype(np.float32)
    palette = np.array(list(COLOURS.values()), np.float32)  # (4, 3)

    yy, xx = np.mgrid[0:res, 0:res].astype(np.float32) + 0.5  # pixel centres
    images = np.empty((n, 3, res, res), np.uint8)
    kind = labels // len(COLOURS)  # (n,) shape index
    for lo in range(0, n, _CHUNK):
        for shape in range(len(SHAPES)):  # one shape per pass: only its distance is computed
            idx = lo + np.flatnonzero(kind[lo : lo + _CHUNK] == shape)
            dx = xx[None] - cx[idx, None, None]  # (B, H, W)
            dy = yy[None] - cy[idx, None, None]
            cover = np.clip(0.5 - _signed_distance(shape, dx, dy, r[idx, None, None]), 0.0, 1.0)
            colour = palette[labels[idx] % len(COLOURS)]  # (B, 3)
            images[idx] = np.rint(cover[:, None] * colour[:, :, None, None]).astype(np.uint8)
    return ImageSet(images, labels, list(SHAPE_CLASS_NAMES), f"shapes ({n:,}, 12 modes, {res} px)")
