"""Built-in example sets: documented counts, classes, determinism, and the `build` command.

Counts are those of this machine's Debian 12 packages (scikit-learn's load_digits, Noto
Color Emoji 2.042 with a libraqm-enabled Pillow); the emoji set is built once per module.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

from gan_core.data.builtin import BUILTIN_SETS, RESOLUTIONS, digits, emoji, emoji_font_path, load_builtin, shapes
from gan_core.data.builtin import stacked_digits
from gan_core.data.builtin.digits import resample_matrix
from gan_core.data.builtin.emoji import EMOJI_CLASS_NAMES
from gan_core.data.builtin.shapes import COLOURS, SHAPE_CLASS_NAMES
from gan_core.data.imageset import ImageSet
from gan_core.errors import DatasetError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digit_set() -> ImageSet:
    return digits(32)


@pytest.fixture(scope="module")
def emoji_set() -> ImageSet:
    return emoji(64)


# ---------------------------------------------------------------- digits


def test_digits_are_the_1797_sklearn_digits_in_10_classes_of_about_180(digit_set):
    assert digit_set.images.shape == (1797, 1, 32, 32) and digit_set.images.dtype == np.uint8
    assert digit_set.labels.dtype == np.int64
    assert digit_set.class_names == [str(d) for d in range(10)]
    counts = np.bincount(digit_set.labels, minlength=10)
    assert len(counts) == 10 and counts.min() >= 170 and counts.max() <= 190, counts


def test_digits_are_white_strokes_on_black_over_the_full_uint8_range(digit_set):
    x = digit_set.images
    assert x.min() == 0 and x.max() == 255
    assert x.mean() < 100  # mostly black paper
    assert np.median(x[:, 0, :, 0]) == 0  # the left column is paper in nearly every digit


def test_vectorised_upscale_equals_pillow_bicubic_resize_of_each_image():
    rng = np.random.default_rng(0)
    small = rng.uniform(0, 255, size=(8, 8)).astype(np.float32)
    a = resample_matrix(8, 24)
    pillow = np.asarray(Image.fromarray(small, "F").resize((24, 24), Image.Resampling.BICUBIC))
    np.testing.assert_allclose(a @ small @ a.T, pillow, atol=1e-3)


# ---------------------------------------------------------------- shapes


def test_shapes_has_every_class_balanced_with_readable_names():
    s = shapes(n=120, res=16, seed=0)
    assert s.images.shape == (120, 3, 16, 16) and s.images.dtype == np.uint8
    assert s.class_names == SHAPE_CLASS_NAMES and len(s.class_names) == 12
    assert "red circle" in s.class_names and "yellow triangle" in s.class_names
    assert np.bincount(s.labels, minlength=12).tolist() == [10] * 12


def test_shapes_are_deterministic_per_seed_and_differ_across_seeds():
    a, b, c = shapes(n=48, res=16, seed=3), shapes(n=48, res=16, seed=3), shapes(n=48, res=16, seed=4)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)


def test_each_shape_image_shows_its_class_colour_and_outline():
    s = shapes(n=60, res=64, seed=1)
    palette = list(COLOURS.values())
    for image, label in zip(s.images, s.labels):
        inside = image.max(axis=0) > 0  # (H, W): covered at least partly
        full = np.all(image.transpose(1, 2, 0) == palette[label % 4], axis=-1)  # fully covered
        assert full.sum() > 0.5 * inside.sum()  # a solid shape of exactly its colour
        # fill ratio of the bounding box tells circle (pi/4), square (1) and triangle (1/2) apart
        rows, cols = np.flatnonzero(full.any(1)), np.flatnonzero(full.any(0))
        fill = full.sum() / ((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1))
        expected = (np.pi / 4, 1.0, 0.5)[label // 4]
        assert abs(fill - expected) < 0.1, (s.class_names[label], fill)
        assert not inside[0].any() and not inside[-1].any() and not inside[:, 0].any() and not inside[:, -1].any()


def test_shapes_refuses_fewer_images_than_classes():
    with pytest.raises(DatasetError, match="at least 12"):
        shapes(n=5)


# ---------------------------------------------------------------- stacked digits


def test_stacked_digit_labels_match_the_digit_in_each_channel(digit_set):
    s = stacked_digits(n=300, res=32, seed=0)
    assert s.images.shape == (300, 3, 32, 32) and s.images.dtype == np.uint8
    assert s.class_names == [f"{k:03d}" for k in range(1000)]
    # every channel is one of the real digits, and the label's decimal digits name them
    labels_of = {}
    for image, label in zip(digit_set.images, digit_set.labels):
        labels_of.setdefault(image.tobytes(), set()).add(int(label))
    for image, label in zip(s.images, s.labels):
        for channel, digit in zip(image, (label // 100, label // 10 % 10, label % 10)):
            assert digit in labels_of[channel.tobytes()]


def test_stacked_digits_cover_nearly_all_1000_modes_and_are_seeded():
    s = stacked_digits(n=10000, res=16, seed=0)
    assert len(np.unique(s.labels)) >= 995  # a mode is missed with probability ~e^-10
    assert np.array_equal(s.images[:50], stacked_digits(n=50, res=16, seed=0).images)
    assert not np.array_equal(s.images[:50], stacked_digits(n=50, res=16, seed=1).images)


# ---------------------------------------------------------------- emoji


def test_emoji_count_and_groups_are_as_documented(emoji_set):
    # Debian 12 Noto Color Emoji 2.042: 1,885 distinct glyphs with libraqm (ZWJ sequences,
    # flags and keycaps shaped into one glyph); 1,170 without it (sequences skipped)
    low, high = (1800, 1950) if features.check("raqm") else (1100, 1250)
    assert low <= len(emoji_set) <= high, len(emoji_set)
    assert emoji_set.images.shape[1:] == (3, 64, 64) and emoji_set.images.dtype == np.uint8
    assert emoji_set.class_names == EMOJI_CLASS_NAMES
    assert EMOJI_CLASS_NAMES == ["smileys", "people", "animals", "food", "activities", "travel", "objects", "symbols", "flags"]
    counts = np.bincount(emoji_set.labels, minlength=9)
    assert len(counts) == 9 and counts.min() >= 1, counts


def test_emoji_has_no_blank_images_and_no_exact_duplicates(emoji_set):
    x = emoji_set.images
    ink = (x < 250).any(axis=1).mean(axis=(1, 2))  # (N,) fraction of clearly non-white pixels
    assert ink.min() > 0.05, ink.min()
    assert len(np.unique(x.reshape(len(x), -1), axis=0)) == len(x)


def test_emoji_glyphs_are_centred_on_white_with_a_margin(emoji_set):
    x = emoji_set.images
    res = x.shape[-1]
    visible = (x < 250).any(axis=1)  # (N, H, W); Lanczos rings by a level or two past the edge
    assert not visible[:, 0].any() and not visible[:, -1].any()
    assert not visible[:, :, 0].any() and not visible[:, :, -1].any()
    ink = (x < 255).any(axis=1)  # every pixel that is not pure white
    # the crop is centred on the ink's bounding box ...
    for axis in (1, 2):
        spans = ink.any(axis=axis)  # (N, res) rows or columns holding ink
        first = spans.argmax(axis=1)
        last = res - 1 - spans[:, ::-1].argmax(axis=1)
        assert np.abs((first + last + 1) / 2 - res / 2).max() <= 2.0
    # ... so the ink's centroid is near the centre for each glyph and on average
    ys, xs = np.mgrid[0:res, 0:res] + 0.5
    count = ink.sum(axis=(1, 2))
    cy, cx = (ink * ys).sum(axis=(1, 2)) / count, (ink * xs).sum(axis=(1, 2)) / count
    assert np.hypot(cy - res / 2, cx - res / 2).max() < 0.25 * res
    assert abs(cy.mean() - res / 2) < res / 32 and abs(cx.mean() - res / 2) < res / 32


def test_emoji_without_the_font_says_how_to_install_it(tmp_path):
    with pytest.raises(DatasetError, match="apt-get install fonts-noto-color-emoji"):
        emoji(32, font_path=str(tmp_path / "missing.ttf"))
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font" * 10)
    with pytest.raises(DatasetError, match="apt-get install fonts-noto-color-emoji"):
        emoji(32, font_path=str(junk))


def test_emoji_refuses_a_text_font_without_colour_glyphs():
    text_font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    assert text_font.is_file(), "DejaVu Sans is missing: apt-get install fonts-dejavu-core (scripts/test.sh does it)"
    with pytest.raises(DatasetError, match="no colour emoji"):
        emoji(32, font_path=str(text_font))


def test_emoji_font_path_finds_the_installed_default():
    assert emoji_font_path() == "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"


# ---------------------------------------------------------------- registry


def test_load_builtin_builds_each_small_set_at_the_requested_resolution():
    assert list(BUILTIN_SETS) == ["emoji", "digits", "shapes", "stacked"]
    for name, channels in (("digits", 1), ("shapes", 3), ("stacked", 3)):
        s = load_builtin(name, 16)
        assert s.images.shape[1:] == (channels, 16, 16), name


@pytest.mark.parametrize("res", [7, 48, 256, 0])
def test_load_builtin_refuses_resolutions_it_does_not_offer(res):
    assert res not in RESOLUTIONS
    with pytest.raises(DatasetError, match="16, 32, 64, 128"):
        load_builtin("digits", res)


def test_load_builtin_refuses_unknown_names_and_lists_the_known_ones():
    with pytest.raises(DatasetError, match="emoji, digits, shapes, stacked"):
        load_builtin("mnist", 32)


# ---------------------------------------------------------------- build CLI


def _build(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gan_core", "build", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_build_writes_a_class_folder_tree_of_the_same_pixels(tmp_path):
    out = tmp_path / "shapes"
    done = _build("shapes", "--n", "36", "--res", "16", "--seed", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(SHAPE_CLASS_NAMES)
    expected = shapes(n=36, res=16, seed=2)
    for i, (image, label) in enumerate(zip(expected.images, expected.labels)):
        png = Image.open(out / expected.class_names[label] / f"{i:05d}.png")
        assert png.mode == "RGB" and np.array_equal(np.asarray(png).transpose(2, 0, 1), image)
    assert [p.name for p in tmp_path.iterdir()] == ["shapes"]  # no temp folder left behind


@pytest.mark.slow
def test_build_digits_writes_greyscale_pngs_per_digit(tmp_path):
    out = tmp_path / "digits"
    done = _build("digits", "--res", "16", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [str(d) for d in range(10)]
    pngs = list(out.glob("*/*.png"))
    assert len(pngs) == 1797
    png = Image.open(pngs[0])
    assert png.mode == "L" and png.size == (16, 16)


@pytest.mark.slow
def test_build_refuses_a_non_empty_folder_with_one_line_and_no_traceback(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    done = _build("digits", "--out", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.startswith("error:") and "Traceback" not in done.stderr and "not an empty folder" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
