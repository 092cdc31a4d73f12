"""`python -m gan_core build SET --out DIR`: write a built-in set as class folders of PNGs.

The tree (DIR/<class name>/<index>.png, one folder per class that has images) is what
`python -m gan_core train --data DIR` and the app's upload read, so a built-in set can be
trained on, zipped or inspected like any user's images. Digits are written as greyscale
PNGs, the others as RGB. DIR must not exist or be empty; the tree is written to a hidden
sibling folder first and renamed into place, so an interrupted build leaves no half set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import uuid
from pathlib import Path

from gan_core.cli import UserError

_DEFAULT_RES = {"emoji": 64, "digits": 32, "shapes": 32, "stacked": 32}
_HAS_COUNT = ("shapes", "stacked")  # sets that are sampled, so take --n and --seed


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("set", choices=list(_DEFAULT_RES), help="which built-in set to build")
    parser.add_argument("--out", type=Path, required=True, help="folder to create (must not exist or be empty)")
    parser.add_argument("--res", type=int, default=None, help="image size in px (default: emoji 64, others 32)")
    parser.add_argument("--n", type=int, default=None, help="number of images (shapes, stacked only)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (shapes, stacked only; default 0)")
    parser.add_argument("--font", default=None, help="path of NotoColorEmoji.ttf (emoji only)")


def run(args: argparse.Namespace, name: str) -> int:
    from gan_core.data.builtin import BUILTIN_SETS

    kwargs: dict = {"res": args.res if args.res is not None else _DEFAULT_RES[args.set]}
    for option in ("n", "seed"):
        if getattr(args, option) is not None:
            if args.set not in _HAS_COUNT:
                raise UserError(f"--{option} applies to {' and '.join(_HAS_COUNT)} only, not {args.set}")
            kwargs[option] = getattr(args, option)
    if args.font is not None:
        if args.set != "emoji":
            raise UserError(f"--font applies to emoji only, not {args.set}")
        kwargs["font_path"] = args.font

    out: Path = args.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out} already exists and is not an empty folder; choose a new folder")
    imageset = BUILTIN_SETS[args.set](**kwargs)  # raises DatasetError with its own message
    out.parent.mkdir(parents=True, exist_ok=True)
    write_class_folders(imageset, out)
    print(f"wrote {imageset.name}: {len(imageset):,} PNGs in {len(set(imageset.labels.tolist()))} class folders to {out}")
    return 0


def write_class_folders(imageset, out: Path) -> None:
    """Write `imageset` as out/<class name>/<index:05d>.png, atomically (temp folder + rename)."""
    from PIL import Image

    # a named sibling, not tempfile.mkdtemp: mkdir honours the umask, mkdtemp makes it 0700
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for k in sorted(set(imageset.labels.tolist())):
            (tmp / imageset.class_names[k]).mkdir()
        for i, (image, label) in enumerate(zip(imageset.images, imageset.labels)):
            pixels = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)  # (H, W) or (H, W, 3)
            Image.fromarray(pixels).save(tmp / imageset.class_names[label] / f"{i:05d}.png")
        if out.exists():
            out.rmdir()  # empty (checked by the caller); rename cannot replace a folder otherwise
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
