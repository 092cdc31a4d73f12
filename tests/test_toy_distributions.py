"""2D target distributions: shapes, seeded determinism, known modes, user points and CSV parsing."""

from __future__ import annotations

import numpy as np
import pytest

from gan_core.errors import DatasetError
from gan_core.metrics.modes import toy_mode_coverage
from gan_core.toy.distributions import (
    DISTRIBUTIONS,
    MAX_POINTS,
    custom,
    grid25,
    make_distribution,
    normalise_points,
    parse_points_csv,
    read_points_csv,
    ring8,
)

BUILTIN = [d for d in DISTRIBUTIONS if d != "custom"]


@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_sampler_returns_float32_points_of_shape_n_by_2_inside_its_view(name):
    dist = make_distribution(name)
    x = dist.sample(1000, np.random.default_rng(0))
    assert x.shape == (1000, 2) and x.dtype == np.float32
    assert np.isfinite(x).all()
    assert np.abs(x).max() < dist.extent  # everything the sampler draws is visible


@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_sampler_is_a_function_of_its_seed(name):
    dist = make_distribution(name)
    a = dist.sample(500, np.random.default_rng(7))
    b = dist.sample(500, np.random.default_rng(7))
    c = dist.sample(500, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_ring8_has_eight_centres_on_a_circle_of_radius_2_with_the_unrolled_gan_std():
    dist = ring8()
    assert dist.centers.shape == (8, 2) and dist.std == pytest.approx(0.02)
    np.testing.assert_allclose(np.linalg.norm(dist.centers, axis=1), 2.0)


def test_grid25_has_25_centres_spaced_2_apart_with_the_pacgan_std():
    dist = grid25()
    assert dist.centers.shape == (25, 2) and dist.std == pytest.approx(0.05)
    assert sorted(set(dist.centers[:, 0].round(6))) == [-4.0, -2.0, 0.0, 2.0, 4.0]


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_real_samples_of_a_mixture_cover_every_mode_and_are_almost_all_high_quality(name):
    dist = make_distribution(name)
    x = dist.sample(2500, np.random.default_rng(0))
    cov = toy_mode_coverage(x, dist.centers, dist.std)
    assert cov["modes_covered"] == len(dist.centers)
    assert cov["high_quality_pct"] > 97.0  # 3 std in 2D holds 98.9% of a Gaussian's mass


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_a_generator_collapsed_onto_one_centre_covers_exactly_one_mode(name):
    dist = make_distribution(name)
    rng = np.random.default_rng(0)
    collapsed = dist.centers[3] + dist.std * rng.standard_normal((2500, 2))
    cov = toy_mode_coverage(collapsed, dist.centers, dist.std)
    assert cov["modes_covered"] == 1


@pytest.mark.parametrize("name", ["moons", "spiral"])
def test_continuous_shapes_carry_no_modes(name):
    assert not make_distribution(name).has_modes


def test_moons_has_two_separate_arcs():
    x = make_distribution("moons").sample(4000, np.random.default_rng(0))
    # the upper arc peaks near y = 1.6 * 0.75 = 1.2, the lower one dips near -1.2
    assert x[:, 1].max() > 1.0 and x[:, 1].min() < -1.0


def test_custom_points_become_modes_and_keep_canvas_coordinates_without_normalising():
    pts = np.array([[0.0, 0.0], [1.5, -1.0], [-2.0, 2.0]])
    dist = custom(pts, normalise=False)
    np.testing.assert_array_equal(dist.centers, pts)
    x = dist.sample(3000, np.random.default_rng(0))
    assert toy_mode_coverage(x, dist.centers, dist.std)["modes_covered"] == 3


def test_custom_normalising_centres_and_scales_to_radius_2():
    pts = np.array([[100.0, 10.0], [300.0, 10.0], [200.0, 30.0]])
    out = normalise_points(pts)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    assert np.abs(out).max() == pytest.approx(2.0)


def test_a_single_custom_point_is_placed_at_the_origin():
    dist = custom(np.array([[5.0, 5.0]]))
    np.testing.assert_array_equal(dist.centers, [[0.0, 0.0]])


def test_large_custom_clouds_are_a_density_not_modes():
    pts = np.random.default_rng(0).normal(size=(500, 2))
    assert not custom(pts).has_modes


@pytest.mark.parametrize("pts, message", [
    (np.zeros((0, 2)), "at least one point"),
    (np.zeros((3, 3)), "shape (N, 2)"),
    (np.array([[0.0, np.nan]]), "finite"),
    (np.zeros((MAX_POINTS + 1, 2)), "too many"),
])
def test_bad_custom_points_are_refused_with_a_reason(pts, message):
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        custom(pts)


def test_custom_without_points_says_how_to_add_them():
    with pytest.raises(DatasetError, match="click the canvas or upload a CSV"):
        make_distribution("custom")


def test_unknown_distribution_names_the_choices():
    with pytest.raises(DatasetError, match="ring8, grid25"):
        make_distribution("ring9")


# --- CSV ---------------------------------------------------------------------------------

def test_csv_with_header_comments_blank_lines_and_a_trailing_comma_parses():
    text = "# my points\nx,y\n\n1.5, -2\n3,4,\n-1e-3,  .5\n"
    np.testing.assert_array_equal(parse_points_csv(text), [[1.5, -2.0], [3.0, 4.0], [-0.001, 0.5]])


@pytest.mark.parametrize("sep", [";", "\t", " "])
def test_csv_accepts_semicolon_tab_and_space_separators(sep):
    text = f"1{sep}2\n3{sep}4\n"
    np.testing.assert_array_equal(parse_points_csv(text), [[1, 2], [3, 4]])


def test_csv_utf8_bom_and_quoted_numbers_parse():
    data = '\ufeff"x","y"\n"1","2"\n'.encode("utf-8")
    np.testing.assert_array_equal(parse_points_csv(data), [[1.0, 2.0]])


@pytest.mark.parametrize("text, message", [
    ("x,y\n1,2\n3,abc\n", "line 3: 'abc' is not a number"),
    ("1,2\n3,4,5\n", "line 2: expected 2 columns"),
    ("1,2\nx,y\n", "line 2: 'x' is not a number"),  # a header only on the first line
    ("1,2\n3,nan\n", "line 2: values must be finite"),
    ("1,2\ninf,0\n", "line 2: values must be finite"),
    ("1_0,2\n", "line 1: '1_0' is not a number"),
    ("x,y\n", "no points found"),
    ("", "no points found"),
])
def test_bad_csv_lines_are_named_in_the_error(text, message):
    with pytest.raises(DatasetError, match=message):
        parse_points_csv(text, source="pts.csv")


def test_binary_and_non_utf8_files_are_refused_as_not_csv():
    with pytest.raises(DatasetError, match="not a text file"):
        parse_points_csv(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(DatasetError, match="not UTF-8"):
        parse_points_csv(b"1,2\n\xff\xfe,3\n")


def test_csv_size_and_point_count_are_bounded_before_and_while_parsing():
    with pytest.raises(DatasetError, match="limit is 100"):
        parse_points_csv("1,2\n" * 50, max_bytes=100)
    with pytest.raises(DatasetError, match="more than 10 points"):
        parse_points_csv("1,2\n" * 11, max_points=10)


def test_reading_a_csv_file_names_the_file_in_errors(tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_text("0,0\n1,oops\n")
    with pytest.raises(DatasetError, match=r"clicks\.csv line 2"):
        read_points_csv(str(path))
    path.write_text("0,0\n1,1\n")
    assert read_points_csv(str(path)).shape == (2, 2)


def test_reading_a_missing_csv_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="cannot read"):
        read_points_csv(str(tmp_path / "missing.csv"))
