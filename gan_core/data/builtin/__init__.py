"""Built-in example sets, built offline and in memory as ImageSets.

| name      | builder           | images                     | classes                         |
|-----------|-------------------|----------------------------|---------------------------------|
| "emoji"   | `emoji(res)`      | ~1,885 RGB glyphs on white | 9 Unicode groups ("smileys", ...) |
| "digits"  | `digits(res)`     | 1,797 grey, white on black | 10 digits                       |
| "shapes"  | `shapes(n, res)`  | 2,000 RGB shapes on black  | 12 (3 shapes x 4 colours)       |
| "stacked" | `stacked_digits`  | 10,000 RGB, a digit per channel | 1,000 ("000".."999")       |

Nothing is downloaded or cached on disk; a caller that wants a cache keeps one.
"""

from __future__ import annotations

from typing import Callable

from gan_core.data.builtin.digits import digits, stacked_digits
from gan_core.data.builtin.emoji import emoji, emoji_font_path
from gan_core.data.builtin.shapes import shapes
from gan_core.data.imageset import ImageSet
from gan_core.errors import DatasetError

# name -> builder; call it as BUILTIN_SETS[name](res=res): every builder takes `res` by
# keyword, and its other arguments have the defaults the app uses.
BUILTIN_SETS: dict[str, Callable[..., ImageSet]] = {
    "emoji": emoji,
    "digits": digits,
    "shapes": shapes,
    "stacked": stacked_digits,
}

# The sizes the app offers (powers of two, as the DCGAN models need). The builders accept
# any size from 8 to 512 px; above 128 px every source here is only being upsampled (the
# emoji bitmaps are about 128 px, the digits 8 px).
RESOLUTIONS: tuple[int, ...] = (16, 32, 64, 128)


def load_builtin(name: str, res: int) -> ImageSet:
    """Build the built-in set `name` at `res` x `res` px with its default size and seed.

    Raises DatasetError for an unknown name or a resolution outside RESOLUTIONS (and, for
    "emoji", when the font is missing: the message says how to install it).
    """
    if name not in BUILTIN_SETS:
        raise DatasetError(f"unknown built-in dataset {name!r}; choose one of: {', '.join(BUILTIN_SETS)}")
    if isinstance(res, bool) or res not in RESOLUTIONS:
        raise DatasetError(
            f"built-in dataset {name!r}: resolution {res!r} is not offered; "
            f"choose one of {', '.join(map(str, RESOLUTIONS))} px"
        )
    return BUILTIN_SETS[name](res=res)


__all__ = [
    "BUILTIN_SETS",
    "RESOLUTIONS",
    "digits",
    "emoji",
    "emoji_font_path",
    "load_builtin",
    "shapes",
    "stacked_digits",
]
