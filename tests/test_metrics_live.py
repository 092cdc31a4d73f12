"""Live signals move the right way on crafted grids, and are cheap enough to run often."""

import time

import numpy as np
import pytest
import torch

from gan_core.metrics.live import d_saturation, downscaled, grid_diversity, near_duplicate_fraction, nearest_neighbours


def random_grid(b=64, c=3, res=64, seed=0):
    return torch.rand(b, c, res, res, generator=torch.Generator().manual_seed(seed)) * 2 - 1  # [-1, 1]


def test_identical_grid_has_zero_diversity_and_is_all_near_duplicates():
    one = random_grid(1).expand(64, -1, -1, -1)
    assert grid_diversity(one) == pytest.approx(0.0, abs=1e-6)
    assert near_duplicate_fraction(one) == 1.0


def test_independent_images_have_high_diversity_and_no_near_duplicates():
    grid = random_grid()
    assert grid_diversity(grid) > 0.9
    assert near_duplicate_fraction(grid) == 0.0


def test_diversity_falls_as_a_grid_collapses_towards_one_image():
    grid, target = random_grid(), random_grid(1, seed=1)
    values = [grid_diversity((1 - a) * grid + a * target) for a in (0.0, 0.5, 0.9, 0.99)]
    assert all(x > y for x, y in zip(values, values[1:])), values


def test_diversity_ignores_brightness_scale_and_resolution():
    grid = random_grid(16, res=32) * 0.5 + 0.5  # [0, 1]
    base = grid_diversity(grid, value_range=(0, 1))
    assert grid_diversity(grid * 0.5, value_range=(0, 1)) == pytest.approx(base, rel=1e-6)
    as_uint8 = (grid * 255).round().to(torch.uint8)
    assert grid_diversity(as_uint8) == pytest.approx(base, abs=0.01)


def test_near_duplicates_are_counted_per_image():
    grid = random_grid(8)
    grid[1] = grid[0] + 0.01  # a near copy of image 0
    assert near_duplicate_fraction(grid) == pytest.approx(2 / 8)


def test_d_saturation_is_one_when_d_wins_outright_and_zero_at_equilibrium():
    won = d_saturation(torch.full((64,), 0.999), torch.full((64,), 0.001))
    assert won["saturation"] == 1.0 and won["gap"] == pytest.approx(0.998)
    even = d_saturation(np.full(64, 0.5), np.full(64, 0.5))
    assert even["saturation"] == 0.0 and even["gap"] == 0.0
    half = d_saturation(np.full(10, 0.999), np.full(10, 0.5))
    assert half["saturation"] == 0.5 and half["d_real"] == pytest.approx(0.999)


def test_nearest_neighbour_of_a_copied_training_image_is_that_image_at_distance_zero():
    train = torch.randint(0, 256, (500, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    samples = train[[7, 123, 499]].float() / 127.5 - 1.0
    d, i = nearest_neighbours(samples, train, k=2)
    assert d.shape == (3, 2) and i.tolist()[0][0] == 7 and [r[0] for r in i.tolist()] == [7, 123, 499]
    assert torch.all(d[:, 0] < 1e-3) and torch.all(d[:, 1] > 0.1)  # float32 cdist round-off


def test_nearest_neighbours_merge_chunks_and_accept_precomputed_grey_training_pixels():
    grey = torch.randint(0, 256, (300, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    samples = grey[[250, 3]].expand(-1, 3, -1, -1)  # an RGB generator copying grey data
    d, i = nearest_neighbours(samples, downscaled(grey), k=3, chunk=64)
    assert i[:, 0].tolist() == [250, 3]
    assert torch.all(d[:, 1:] >= d[:, :1]) and torch.all(d[:, 2] >= d[:, 1])


def test_live_signals_on_a_64_image_grid_take_under_two_seconds_even_on_a_busy_cpu():
    grid = random_grid(64, res=64)
    train = downscaled(torch.randint(0, 256, (2000, 3, 64, 64), dtype=torch.uint8))
    t0 = time.perf_counter()
    grid_diversity(grid)
    near_duplicate_fraction(grid)
    d_saturation(torch.rand(64), torch.rand(64))
    nearest_neighbours(grid, train)
    assert time.perf_counter() - t0 < 2.0  # about 0.2 s on 2 idle cores
