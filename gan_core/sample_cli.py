"""`python -m gan_core sample`: a PNG grid of the images named by seeds seed .. seed + n - 1.

    python -m gan_core sample --ckpt runs/emoji --n 64 --seed 0 --class 3 --truncation 0.7 --out grid.png

For a conditional model without --class, image i gets class i mod K, so a grid shows
every class.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from gan_core import latent
from gan_core.checkpoint import load_generator
from gan_core.cli import UserError
from gan_core.config import PRECISIONS
from gan_core.video import contact_sheet, resize_frames, write_png

MAX_N = 1024


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--ckpt", required=True, help="a run folder or its model.safetensors")
    parser.add_argument("--n", type=int, default=64, help="number of images (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="first seed; image i uses seed + i")
    parser.add_argument("--class", dest="class_", metavar="CLASS", default=None, help="class name or index (conditional models)")
    parser.add_argument("--truncation", type=float, default=1.0, help="psi toward the mean latent, 0..2 (1 = off)")
    parser.add_argument("--cols", type=int, default=0, help="grid columns (default: about sqrt(n))")
    parser.add_argument("--scale", type=int, default=1, help="nearest-neighbour upscale factor of each image")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto = bf16 where the CPU has it")
    parser.add_argument("--out", default="grid.png", help="output PNG (default grid.png)")


def class_input(spec: str | None, n: int, class_names: list[str], num_classes: int) -> torch.Tensor | None:
    """The class of each of n images: --class for all, or i mod K; None when unconditional."""
    if num_classes == 0:
        if spec is not None:
            raise UserError("--class: this model is unconditional (it was trained without classes)")
        return None
    if spec is None:
        return torch.arange(n) % num_classes
    return torch.full((n,), latent.class_index(spec, class_names, num_classes))


def run(args: argparse.Namespace, name: str) -> int:
    try:
        return _run(args)
    except OSError as e:  # an unwritable --out, a full disk: the user can fix these
        if e.filename is None:
            raise
        raise UserError(f"{e.filename}: {e.strerror or e}") from None


def _run(args: argparse.Namespace) -> int:
    if not 1 <= args.n <= MAX_N:
        raise UserError(f"--n {args.n}: must be between 1 and {MAX_N}")
    if not 1 <= args.scale <= 16:
        raise UserError(f"--scale {args.scale}: must be between 1 and 16")
    if args.cols < 0:
        raise UserError(f"--cols {args.cols}: must be positive")
    if not args.out.lower().endswith(".png"):
        raise UserError(f"--out {args.out}: the grid is written as a .png file")
    seeds = list(range(args.seed, args.seed + args.n))
    for s in (seeds[0], seeds[-1]):
        latent._check_seed(s)
    t0 = time.perf_counter()
    loaded = load_generator(args.ckpt)
    cfg = loaded.config.model
    y = class_input(args.class_, args.n, loaded.class_names, cfg.num_classes)
    images = latent.sample(loaded.generator, seeds, y, args.truncation, args.precision)  # (n, R, R, C)
    if args.scale > 1:
        images = resize_frames(images, (cfg.res * args.scale, cfg.res * args.scale))
    cols = args.cols or math.ceil(math.sqrt(args.n))
    path = write_png(contact_sheet(images, cols), args.out)
    print(f"wrote {path} ({args.n} images, seeds {seeds[0]}-{seeds[-1]}, {time.perf_counter() - t0:.2f} s)")
    return 0
