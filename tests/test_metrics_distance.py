"""Fréchet distance, KID and precision/recall on features with known answers."""

import numpy as np
import pytest
import scipy.linalg

from gan_core.metrics.distance import frechet_distance, kid, precision_recall


def gaussian(n, d=16, seed=0, shift=0.0):
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


def test_frechet_distance_of_a_set_with_itself_is_zero():
    a = gaussian(500)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_a_shifted_copy_is_the_squared_shift():
    # Same covariance, so only |mu_a - mu_b|^2 remains.
    a = gaussian(400)
    shift = np.linspace(-1, 1, a.shape[1])
    assert frechet_distance(a, a + shift) == pytest.approx(float((shift**2).sum()), rel=1e-8)


def test_frechet_distance_matches_scipy_sqrtm_on_full_covariances():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8))
    b = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8)) + 0.5
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s_a @ s_b).real
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s_a + s_b - 2 * covmean)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_grows_monotonically_with_added_noise():
    a = gaussian(500)
    noise = np.random.default_rng(2).normal(size=a.shape)
    fds = [frechet_distance(a, a + s * noise) for s in (0.0, 0.25, 0.5, 1.0, 2.0)]
    assert all(x < y for x, y in zip(fds, fds[1:])), fds


def test_frechet_distance_handles_fewer_samples_than_dimensions():
    # Singular covariances (N < D) are the norm for 1280-d features on small sets.
    a, b = gaussian(20, d=64), gaussian(20, d=64, seed=1)
    fd = frechet_distance(a, b)
    assert np.isfinite(fd) and fd > 0


def test_kid_of_two_halves_of_one_set_is_near_zero_and_of_different_sets_is_large():
    x = gaussian(1000, d=32)
    same_mean, same_std = kid(x[:500], x[500:], subsets=10, subset_size=300)
    diff_mean, _ = kid(x[:500], gaussian(500, d=32, seed=5, shift=0.5), subsets=10, subset_size=300)
    assert abs(same_mean) < 3 * same_std + 1e-3
    assert diff_mean > 10 * max(same_std, abs(same_mean))


def test_kid_is_reproducible_for_a_seed():
    a, b = gaussian(300), gaussian(300, seed=3, shift=0.2)
    assert kid(a, b, subsets=5, subset_size=100, seed=7) == kid(a, b, subsets=5, subset_size=100, seed=7)


def test_precision_and_recall_are_high_for_two_samples_of_one_distribution():
    p, r = precision_recall(gaussian(500, d=8), gaussian(500, d=8, seed=1), k=3)
    assert p > 0.8 and r > 0.8


def test_precision_and_recall_are_zero_for_disjoint_sets():
    p, r = precision_recall(gaussian(300, d=8), gaussian(300, d=8, seed=1, shift=50.0), k=3)
    assert p == 0.0 and r == 0.0


def test_collapsed_fakes_have_high_precision_and_low_recall():
    real = gaussian(500, d=4)
    fake = real[:1].repeat(500, axis=0) + 0.01 * gaussian(500, d=4, seed=9)  # all near one real point
    p, r = precision_recall(real, fake, k=3)
    assert p > 0.9 and r < 0.1


def test_frechet_distance_sample_space_and_feature_space_routes_agree():
    # 40 samples in 8-d take the feature-space route, in 200-d the sample-space route;
    # padding with zero columns leaves the distance unchanged, so both must agree.
    a, b = gaussian(40, d=8), gaussian(40, d=8, seed=1, shift=0.3)
    pad = np.zeros((40, 192))
    narrow = frechet_distance(a, b)
    wide = frechet_distance(np.hstack([a, pad]), np.hstack([b, pad]))
    assert wide == pytest.approx(narrow, rel=1e-9)
