"""Mode coverage: the project's mode classifier, histogram coverage/KL, and 2D-toy coverage."""

import math

import numpy as np
import pytest
import torch

from gan_core.data.builtin.digits import digits, stacked_digits
from gan_core.data.builtin.shapes import shapes
from gan_core.metrics.modes import ModeClassifier, class_histogram, is_stacked, mode_coverage, toy_mode_coverage


@pytest.fixture(scope="module")
def digit_set():
    return digits(32)


@pytest.fixture(scope="module")
def digit_clf(digit_set):
    torch.set_num_threads(1)
    return ModeClassifier.fit(digit_set, seed=0)


@pytest.fixture(scope="module")
def stacked_set():
    return stacked_digits(n=3000, res=32, seed=0)


@pytest.fixture(scope="module")
def stacked_clf(stacked_set):
    return ModeClassifier.fit(stacked_set, seed=0)


# --- image classifier ---------------------------------------------------------------


def test_digit_classifier_is_accurate_on_held_out_real_digits(digit_clf):
    assert not digit_clf.per_channel and digit_clf.num_classes == 10
    assert digit_clf.val_accuracy > 0.93


def test_real_digits_cover_all_modes_with_small_kl(digit_set, digit_clf):
    pred = digit_clf.predict(digit_set.images)
    cov = mode_coverage(pred, 10, real_hist=class_histogram(digit_set.labels, 10))
    assert cov["modes_covered"] == 10 and cov["kl"] < 0.01


def test_a_collapsed_generator_covers_one_mode_with_kl_log_k(digit_set, digit_clf):
    one_seven = digit_set.images[digit_set.labels == 7][:1]
    collapsed = np.repeat(one_seven, 200, axis=0)  # every sample the same 7
    cov = mode_coverage(digit_clf.predict(collapsed), 10)
    assert cov["modes_covered"] == 1
    assert cov["kl"] == pytest.approx(math.log(10))


def test_generator_style_rgb_float_output_is_read_like_grey_uint8(digit_set, digit_clf):
    grey = digit_set.images[:64]
    rgb_float = torch.from_numpy(grey).float().div(127.5).sub(1.0).expand(-1, 3, -1, -1)  # (64, 3, 32, 32) in [-1, 1]
    upscaled = torch.nn.functional.interpolate(rgb_float, size=64, mode="bilinear")  # a 64 px generator
    np.testing.assert_array_equal(digit_clf.predict(rgb_float), digit_clf.predict(grey))
    assert (digit_clf.predict(upscaled) == digit_clf.predict(grey)).mean() > 0.95


def test_stacked_digits_are_detected_and_classified_per_channel(stacked_set, stacked_clf):
    assert is_stacked(stacked_set) and stacked_clf.per_channel and stacked_clf.num_classes == 1000
    pred = stacked_clf.predict(stacked_set.images[:1000])
    assert (pred == stacked_set.labels[:1000]).mean() > 0.95


def test_stacked_digits_real_data_covers_most_of_1000_modes_and_collapse_covers_one(stacked_set, stacked_clf):
    real = mode_coverage(stacked_clf.predict(stacked_set.images), 1000)
    # 3,000 uniform draws from 1,000 modes hit about 1000 * (1 - e^-3) = 950 of them.
    assert real["modes_covered"] > 900
    collapsed = np.repeat(stacked_set.images[:1], 100, axis=0)
    assert mode_coverage(stacked_clf.predict(collapsed), 1000)["modes_covered"] == 1


def test_shape_classifier_separates_the_twelve_shape_colour_modes():
    s = shapes(n=600, res=32, seed=0)
    clf = ModeClassifier.fit(s, seed=0)
    fresh = shapes(n=240, res=32, seed=1)
    assert clf.in_channels == 3 and clf.num_classes == 12
    assert (clf.predict(fresh.images) == fresh.labels).mean() > 0.9


def test_classifier_fit_is_deterministic_for_a_seed():
    small = digits(16)
    a = ModeClassifier.fit(small, steps=5, seed=3)
    b = ModeClassifier.fit(small, steps=5, seed=3)
    for pa, pb in zip(a.net.parameters(), b.net.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)


# --- histogram coverage ------------------------------------------------------------


def test_mode_coverage_counts_only_modes_reaching_min_count():
    labels = np.array([0] * 10 + [1] * 3 + [2])
    assert mode_coverage(labels, 5)["modes_covered"] == 3
    assert mode_coverage(labels, 5, min_count=3)["modes_covered"] == 2


def test_mode_coverage_kl_is_zero_for_a_matching_histogram_and_positive_otherwise():
    real = np.array([10, 30, 60])
    labels = np.repeat([0, 1, 2], [1, 3, 6])
    assert mode_coverage(labels, 3, real_hist=real)["kl"] == pytest.approx(0.0, abs=1e-12)
    assert mode_coverage(labels, 3)["kl"] > 0.05  # against uniform


# --- 2D toys -----------------------------------------------------------------------


def ring8(n, std=0.02, seed=0, radius=2.0):
    """Ring of 8 Gaussians (Unrolled GAN's toy): samples, centres, std."""
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(8) / 8
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], 1)
    k = rng.integers(0, 8, n)
    return centres[k] + std * rng.normal(size=(n, 2)), centres, std


def test_toy_coverage_of_the_true_sampler_is_all_modes_with_high_quality():
    x, centres, std = ring8(2500)
    cov = toy_mode_coverage(x, centres, std)
    # In 2D, P(|x - mu| <= 3 std) = 1 - exp(-9/2) = 98.9%.
    assert cov["modes_covered"] == 8 and cov["high_quality_pct"] > 97.5
    assert cov["min_count"] == 20  # 20 HQ samples out of 2,500


def test_toy_coverage_of_a_collapsed_generator_is_one_mode():
    _, centres, std = ring8(10)
    x = centres[3] + std * np.random.default_rng(1).normal(size=(2500, 2))
    cov = toy_mode_coverage(x, centres, std)
    assert cov["modes_covered"] == 1 and cov["hq_per_mode"][3] > 2400


def test_toy_samples_far_from_every_centre_are_not_high_quality_and_cover_nothing():
    _, centres, std = ring8(10)
    x = np.zeros((1000, 2))  # the ring's centre, 2 units from every mode
    cov = toy_mode_coverage(x, centres, std)
    assert cov["high_quality_pct"] == 0.0 and cov["modes_covered"] == 0


def test_toy_stray_samples_below_min_count_do_not_cover_a_mode():
    x, centres, std = ring8(2500)
    x = np.concatenate([x[np.linalg.norm(x - centres[0], axis=1) > 1.0], centres[:1].repeat(5, 0)])
    assert toy_mode_coverage(x, centres, std)["modes_covered"] == 7
    assert toy_mode_coverage(x, centres, std, min_count=1)["modes_covered"] == 8


def test_toy_nan_samples_count_as_low_quality():
    x, centres, std = ring8(100)
    x[:50] = np.nan
    assert 45.0 <= toy_mode_coverage(x, centres, std)["high_quality_pct"] <= 50.0


def test_classifier_refuses_a_set_too_small_to_train_on():
    from gan_core.data.imageset import ImageSet

    one = ImageSet(np.zeros((1, 1, 16, 16), np.uint8), np.zeros(1, np.int64), ["a"], "one image")
    with pytest.raises(ValueError, match="at least 2"):
        ModeClassifier.fit(one)
