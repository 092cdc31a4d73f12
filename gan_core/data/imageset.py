"""The in-memory form every image source ends in: a uint8 tensor plus labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ImageSet:
    """Images ready for training, decoded and resized once.

    `images` is uint8, shape (N, C, H, W), C in {1, 3}, H == W == the training resolution.
    `labels` is int64, shape (N,), values in [0, len(class_names)); a flat set has one class.
    """

    images: np.ndarray  # (N, C, H, W) uint8
    labels: np.ndarray  # (N,) int64
    class_names: list[str] = field(default_factory=lambda: ["all"])
    name: str = ""  # a human description, e.g. "emoji (1,427 glyphs)"

    def __post_init__(self) -> None:
        assert self.images.dtype == np.uint8 and self.images.ndim == 4, self.images.shape
        assert self.images.shape[1] in (1, 3), self.images.shape
        assert self.labels.shape == (len(self.images),), (self.labels.shape, self.images.shape)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def res(self) -> int:
        return self.images.shape[-1]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    def save_npz(self, path) -> None:
        """Save as an uncompressed .npz (no pickled objects), atomically."""
        import io

        from gan_core.checkpoint import atomic_write_bytes

        buf = io.BytesIO()
        np.savez(buf, images=self.images, labels=self.labels,
                 class_names=np.array(self.class_names, dtype=str), name=np.array(self.name, dtype=str))
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load_npz(cls, path) -> "ImageSet":
        with np.load(path, allow_pickle=False) as f:
            return cls(f["images"], f["labels"].astype(np.int64), [str(c) for c in f["class_names"]], str(f["name"]))
