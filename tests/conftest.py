"""Shared fixtures: tiny models and generated data, so the suite stays fast and offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Tests start servers, training processes and ffmpeg side by side on 2 cores: idle OpenMP
# threads must sleep rather than spin, or everything slows down several-fold.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gan_core.config import ModelConfig, TrainConfig  # noqa: E402
from gan_core.data.imageset import ImageSet  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    """Both cores, as on the machines CI and most users run on."""
    torch.set_num_threads(2)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest on one thread; a team of two stalls when the cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def two_mode_set(n: int = 256, res: int = 16) -> ImageSet:
    """Grayscale images of two modes: left half white (class 0) or top half white (class 1)."""
    imgs = np.zeros((n, 1, res, res), np.uint8)
    labels = np.arange(n) % 2
    imgs[labels == 0, :, :, : res // 2] = 255
    imgs[labels == 1, :, : res // 2, :] = 255
    return ImageSet(imgs, labels.astype(np.int64), ["left", "top"], name="two modes")


def mode_of(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mode index, strength in [0, 2]) of two-mode images in [-1, 1], (B, 1, H, W)."""
    h = images.shape[-1] // 2
    left = images[:, 0, :, :h].mean((1, 2)) - images[:, 0, :, h:].mean((1, 2))
    top = images[:, 0, :h, :].mean((1, 2)) - images[:, 0, h:, :].mean((1, 2))
    return torch.where(left > top, 0, 1), torch.maximum(left, top)


def tiny_model(**kw) -> ModelConfig:
    base = dict(res=16, channels=1, nz=8, ngf=8, ndf=8)
    base.update(kw)
    return ModelConfig(**base)


def tiny_train(**kw) -> TrainConfig:
    base = dict(batch_size=16, steps=10, precision="fp32", seed=0, sample_every=5, ckpt_every=5, log_every=1, n_fixed=16)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture
def two_modes() -> ImageSet:
    return two_mode_set()
