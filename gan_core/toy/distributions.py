"""2D target distributions for the playground: seeded samplers with known modes.

Every distribution returns float32 points of shape (N, 2) from an explicit
`np.random.Generator`, so a seed names a data stream. Where the mode-coverage literature
defines its metrics (Unrolled GAN, VEEGAN, PacGAN), the distribution carries its mode
centres and per-axis std: a sample is "high quality" within 3 std of its nearest centre.

- ring8: 8 Gaussians on a circle of radius 2, std 0.02 (Metz et al. 2017, Unrolled GAN).
- grid25: 25 Gaussians at (-4 + 2i, -4 + 2j), std 0.05 (Lin et al. 2018, PacGAN).
- moons: two interleaving half circles with Gaussian noise 0.05 (no discrete modes).
- spiral: one arm of an Archimedean spiral with noise 0.05 (no discrete modes).
- custom: the user's points, each one a small Gaussian (std 0.05); up to MAX_MODES points
  count as modes for the metrics, larger point clouds are treated as a continuous density.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from gan_core.errors import DatasetError

DISTRIBUTIONS = ("ring8", "grid25", "moons", "spiral", "custom")
MAX_POINTS = 20_000  # bound on user points (memory and sampling cost stay tiny)
MAX_CSV_BYTES = 2_000_000  # bound on an uploaded CSV's size
MAX_MODES = 100  # custom sets with at most this many points count each point as a mode
CUSTOM_STD = 0.05  # per-axis std of the Gaussian placed on each user point
CUSTOM_RADIUS = 2.0  # normalised user data fits in [-2, 2]^2, the scale of ring8


@dataclass(frozen=True)
class Distribution:
    """A 2D target: a seeded sampler plus what the view and the metrics need to know."""

    name: str  # one of DISTRIBUTIONS
    sampler: Callable[[int, np.random.Generator], np.ndarray]  # (n, rng) -> (n, 2) float32
    extent: float  # the view shows [-extent, extent]^2
    centers: np.ndarray | None = None  # (K, 2) mode centres where the literature's metrics apply
    std: float = 0.0  # per-axis std of each mode (high quality = within 3 std of a centre)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n points, float32 (n, 2), drawn from `rng` only."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        out = self.sampler(n, rng)
        assert out.shape == (n, 2), out.shape
        return out.astype(np.float32, copy=False)

    @property
    def has_modes(self) -> bool:
        return self.centers is not None


def _mixture_sampler(centers: np.ndarray, std: float) -> Callable[[int, np.random.Generator], np.ndarray]:
    """Equal-weight Gaussian mixture: pick a centre uniformly, add N(0, std^2 I)."""
    centers = np.asarray(centers, dtype=np.float64)

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        idx = rng.integers(0, len(centers), size=n)
        return centers[idx] + std * rng.standard_normal((n, 2))

    return sample


def ring8(radius: float = 2.0, std: float = 0.02) -> Distribution:
    """8 Gaussians evenly spaced on a circle (Unrolled GAN's ring)."""
    angles = 2.0 * math.pi * np.arange(8) / 8
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (8, 2)
    return Distribution("ring8", _mixture_sampler(centers, std), radius * 1.5, centers, std)


def grid25(spacing: float = 2.0, std: float = 0.05) -> Distribution:
    """5 x 5 grid of Gaussians centred on the origin (PacGAN's grid)."""
    ticks = spacing * (np.arange(5) - 2.0)
    centers = np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(25, 2)
    return Distribution("grid25", _mixture_sampler(centers, std), 2.75 * spacing, centers, std)


def moons(noise: float = 0.05) -> Distribution:
    """Two interleaving half circles (as scikit-learn's make_moons), scaled to about [-2, 2]."""

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        t = math.pi * rng.random(n)
        upper = rng.random(n) < 0.5
        x = np.where(upper, np.cos(t), 1.0 - np.cos(t))
        y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
        pts = np.stack([x - 0.5, y - 0.25], axis=1) * 1.6  # centred, radius about 2
        return pts + noise * rng.standard_normal((n, 2))

    return Distribution("moons", sample, 3.0)


def spiral(turns: float = 1.75, noise: float = 0.05) -> Distribution:
    """One Archimedean spiral arm r = theta, scaled to radius 2; uniform along theta."""
    theta_max = 2.0 * math.pi * turns

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        theta = theta_max * np.sqrt(rng.random(n))  # sqrt: density per unit length ~ uniform
        r = 2.0 * theta / theta_max
        pts = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
        return pts + noise * rng.standard_normal((n, 2))

    return Distribution("spiral", sample, 3.0)


def custom(points: np.ndarray, *, normalise: bool = True, std: float = CUSTOM_STD) -> Distribution:
    """The user's points (N, 2), each the centre of a small Gaussian.

    normalise=True (CSV data in any units) centres the cloud on its mean and scales it so the
    largest coordinate is CUSTOM_RADIUS; False keeps clicked canvas coordinates as they are.
    Up to MAX_MODES points are also the modes of the coverage metric.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise DatasetError(f"custom points must have shape (N, 2), got {pts.shape}")
    if len(pts) == 0:
        raise DatasetError("add at least one point (click the canvas or upload a CSV)")
    if len(pts) > MAX_POINTS:
        raise DatasetError(f"{len(pts)} points is too many; use at most {MAX_POINTS}")
    if not np.isfinite(pts).all():
        raise DatasetError("custom points must be finite numbers")
    if normalise:
        pts = normalise_points(pts)
    extent = max(3.0, float(np.abs(pts).max()) + 1.0)
    centers = pts.copy() if len(pts) <= MAX_MODES else None
    return Distribution("custom", _mixture_sampler(pts, std), extent, centers, std)


def normalise_points(points: np.ndarray) -> np.ndarray:
    """Centre (N, 2) points on their mean and scale the largest coordinate to CUSTOM_RADIUS."""
    pts = np.asarray(points, dtype=np.float64)
    pts = pts - pts.mean(axis=0)
    scale = np.abs(pts).max()
    return pts * (CUSTOM_RADIUS / scale) if scale > 0 else pts  # one point (or all equal): origin


def make_distribution(name: str, points: np.ndarray | None = None, *, normalise: bool = True) -> Distribution:
    """A distribution by name; "custom" needs `points` (N, 2)."""
    builders = {"ring8": ring8, "grid25": grid25, "moons": moons, "spiral": spiral}
    if name in builders:
        return builders[name]()
    if name == "custom":
        if points is None:
            raise DatasetError("the custom distribution needs points: click the canvas or upload a CSV")
        return custom(points, normalise=normalise)
    raise DatasetError(f"unknown distribution {name!r}; use one of {', '.join(DISTRIBUTIONS)}")


def parse_points_csv(data: bytes | str, *, source: str = "CSV", max_bytes: int = MAX_CSV_BYTES,
                     max_points: int = MAX_POINTS) -> np.ndarray:
    """Parse a CSV of two numeric columns into float64 points (N, 2).

    Accepts comma, semicolon, tab or whitespace separators, an optional header line, blank
    lines and `#` comments. Every error names `source` and the 1-based line and says what
    to fix; sizes are bounded before any parsing.
    """
    if len(data) > max_bytes:
        raise DatasetError(f"{source}: file is {len(data):,} bytes; the limit is {max_bytes:,}")
    if isinstance(data, bytes):
        if b"\x00" in data:
            raise DatasetError(f"{source}: this is not a text file; upload a CSV with two numeric columns")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise DatasetError(f"{source}: not UTF-8 text (byte {e.start}); save it as UTF-8 CSV") from None
    else:
        text = data.lstrip("\ufeff")
    lines = text.splitlines()
    rows: list[tuple[float, float]] = []
    delimiter: str | None = None
    first = True  # only the first non-blank line may be a header such as "x,y"
    for lineno, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if delimiter is None:
            delimiter = next((d for d in ",;\t" if d in stripped), " ")
        fields = stripped.split() if delimiter == " " else next(csv.reader([stripped], delimiter=delimiter))
        fields = [f.strip() for f in fields]
        while fields and fields[-1] == "":  # tolerate a trailing separator
            fields.pop()
        values = [_number(f) for f in fields]
        is_header = first and len(fields) == 2 and all(v is None for v in values)
        first = False
        if is_header:
            continue
        if len(fields) != 2 or None in values:
            if len(fields) != 2:
                raise DatasetError(f"{source} line {lineno}: expected 2 columns (x, y), found {len(fields)}")
            bad = fields[values.index(None)]
            raise DatasetError(f"{source} line {lineno}: {bad[:40]!r} is not a number")
        if not all(math.isfinite(v) for v in values):
            raise DatasetError(f"{source} line {lineno}: values must be finite (no nan or inf)")
        rows.append((values[0], values[1]))
        if len(rows) > max_points:
            raise DatasetError(f"{source}: more than {max_points:,} points; keep at most {max_points:,}")
    if not rows:
        raise DatasetError(f"{source}: no points found; expected lines like '0.5, -1.2'")
    return np.asarray(rows, dtype=np.float64)


def _number(text: str) -> float | None:
    """float(text), or None when it is not a plain decimal number (rejects '1_0', '0x1')."""
    if not text or "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def read_points_csv(path: str, *, max_bytes: int = MAX_CSV_BYTES, max_points: int = MAX_POINTS) -> np.ndarray:
    """parse_points_csv on a file; reads at most max_bytes + 1 bytes, so a huge file costs nothing."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise DatasetError(f"cannot read {path}: {e.strerror or e}") from None
    return parse_points_csv(data, source=os.path.basename(str(path)), max_bytes=max_bytes, max_points=max_points)
