"""Checks shared by the built-in set builders."""

from __future__ import annotations

from gan_core.errors import DatasetError

# A builder can render any size in this range; the app and `load_builtin` offer fewer
# (see RESOLUTIONS in the package): below 8 px nothing is recognisable, and above 512 px
# every one of these sources is only being upsampled.
MIN_RES, MAX_RES = 8, 512


def check_res(res: int, set_name: str) -> int:
    """Return `res` as an int, or raise DatasetError naming the set and the allowed range."""
    if isinstance(res, bool) or not isinstance(res, int) or not MIN_RES <= res <= MAX_RES:
        raise DatasetError(
            f"{set_name}: resolution {res!r} is not supported; choose a whole number of pixels "
            f"from {MIN_RES} to {MAX_RES}"
        )
    return res


def check_count(n: int, minimum: int, set_name: str) -> int:
    """Return `n`, or raise DatasetError if fewer than `minimum` images were asked for."""
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise DatasetError(
            f"{set_name}: n={n!r} is too small; ask for at least {minimum} images "
            "so every class is present"
        )
    return n
