"""`python -m gan_core video | timelapse | project`: latent walks, training timelapses, projection.

    python -m gan_core video --ckpt runs/emoji --seeds 1,2,3 --seconds 10 --fps 30 --size 256 --out walk.mp4
    python -m gan_core timelapse --run runs/emoji --out timelapse.mp4
    python -m gan_core project --ckpt runs/emoji --image photo.jpg --out projected/
"""

from __future__ import annotations

import argparse
import io
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from gan_core import latent, projection
from gan_core.checkpoint import STATE_FILE, atomic_write_bytes, load_discriminator, load_generator
from gan_core.cli import UserError
from gan_core.config import PRECISIONS
from gan_core.device import available_cores, split_cores, torch_threads
from gan_core.sample_cli import class_input
from gan_core.video import (
    FILTERS,
    render_walk_frames,
    resize_frames,
    timelapse,
    write_gif,
    write_mp4,
    write_png,
)

MAX_SECONDS = 600
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")
MAX_IMAGE_BYTES = 50 * 2**20


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    add = parser.add_argument
    if name == "video":
        add("--ckpt", required=True, help="a run folder or its model.safetensors")
        add("--seeds", default="0,1,2", help="keyframe seeds, e.g. 1,2,3 or 0-7 (default 0,1,2)")
        add("--seconds", type=float, default=10.0, help="video length (default 10)")
        add("--fps", type=float, default=30.0, help="frames per second (default 30)")
        add("--size", type=int, default=256, help="frame side in px; small models are upscaled (default 256)")
        add("--out", default="walk.mp4", help="output .mp4 or .gif (default walk.mp4)")
        add("--interp", choices=latent.INTERPS, default="slerp", help="path between keyframes")
        add("--ease", choices=tuple(latent.EASINGS), default="smoothstep", help="speed profile of each segment")
        add("--truncation", type=float, default=1.0, help="psi toward the mean latent, 0..2 (1 = off)")
        add("--class", dest="class_", metavar="CLASS", default=None,
            help="class name or index for all frames, or one per seed (comma-separated) to blend "
                 "classes; default for conditional models: keyframe i gets class i mod K")  # fmt: skip
        add("--gif", action="store_true", help="also write a GIF beside the MP4")
        add("--random-loop", action="store_true", help="a smooth random great-circle loop (first seed)")
        add("--filter", choices=FILTERS, default="nearest", help="upscaling filter (default nearest)")
        add("--crf", type=int, default=20, help="H.264 quality, 0..51, lower is better (default 20)")
        add("--preset", choices=X264_PRESETS, default="ultrafast", help="x264 speed vs file size (default ultrafast)")
        add("--precision", choices=PRECISIONS, default="auto", help="auto = bf16 where the CPU has it")
    elif name == "timelapse":
        add("--run", required=True, help="a run folder with samples/grid_*.png")
        add("--out", default="timelapse.mp4", help="output .mp4 or .gif")
        add("--fps", type=float, default=8.0, help="grids per second (default 8)")
        add("--size", type=int, default=None, help="long side in px (default: the grids' size)")
        add("--hold", type=float, default=1.0, help="seconds to hold the last grid (default 1)")
        add("--no-label", action="store_true", help="no step caption under each grid")
    elif name == "project":
        add("--ckpt", required=True, help="a run folder (its discriminator helps) or a model.safetensors")
        add("--image", required=True, help="the photo to project (PNG, JPEG, WEBP, GIF, BMP)")
        add("--out", required=True, help="output folder")
        add("--steps", type=int, default=200, help="optimisation steps (default 200)")
        add("--restarts", type=int, default=8, help="random starts optimised together (default 8)")
        add("--seed", type=int, default=0, help="seed of the random starts")
        add("--class", dest="class_", metavar="CLASS", default=None, help="fix the class (conditional models); default: optimised")
        add("--no-d", action="store_true", help="pixel loss only, even when the run has a discriminator")
        add("--max-seconds", type=float, default=30.0, help="time budget (default 30)")


def run(args: argparse.Namespace, name: str) -> int:
    try:
        return {"video": run_video, "timelapse": run_timelapse, "project": run_project}[name](args)
    except OSError as e:  # an unwritable --out, a full disk: the user can fix these
        if e.filename is None:
            raise
        raise UserError(f"{e.filename}: {e.strerror or e}") from None


# ---------------------------------------------------------------------------- video


def _walk_classes(spec: str | None, seeds: list[int], positions: torch.Tensor, class_names, K: int, ease: str):
    """y for every frame: one fixed class, or classes per keyframe blended along the loop."""
    if K == 0:
        return class_input(spec, 1, class_names, 0)
    if spec is not None and "," not in spec:
        return latent.class_index(spec, class_names, K)
    if spec is None:
        classes = [i % K for i in range(len(seeds))]
    else:
        parts = [p for p in spec.split(",") if p.strip()]
        if len(parts) != len(seeds):
            raise UserError(f"--class: {len(parts)} classes for {len(seeds)} seeds; give one, or one per seed")
        classes = [latent.class_index(p, class_names, K) for p in parts]
    return latent.class_loop(classes, K, positions, ease)


def run_video(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".mp4", ".gif"):
        raise UserError(f"--out {args.out}: write a .mp4 or a .gif")
    if not (0 < args.seconds <= MAX_SECONDS) or not math.isfinite(args.seconds):
        raise UserError(f"--seconds {args.seconds}: must be more than 0 and at most {MAX_SECONDS}")
    if not 1 <= args.fps <= 120:
        raise UserError(f"--fps {args.fps}: must be between 1 and 120")
    if not 16 <= args.size <= 2048:
        raise UserError(f"--size {args.size}: must be between 16 and 2048 px")
    if not 0 <= args.crf <= 51:
        raise UserError(f"--crf {args.crf}: must be between 0 and 51")
    seeds = latent.parse_seeds(args.seeds)
    n_frames = max(1, round(args.seconds * args.fps))
    t0 = time.perf_counter()
    loaded = load_generator(args.ckpt)
    G, cfg = loaded.generator, loaded.config.model
    positions = latent.loop_positions(n_frames)
    if args.random_loop:
        z = latent.truncate(latent.great_circle_loop(cfg.nz, positions, seeds[0]), args.truncation)
        y = None
        if cfg.num_classes == 0:
            class_input(args.class_, 1, loaded.class_names, 0)  # refuses --class for an unconditional model
        else:
            spec = args.class_ if args.class_ is not None else str(seeds[0] % cfg.num_classes)
            if "," in spec:
                raise UserError("--class: a random loop takes one class")
            y = latent.class_index(spec, loaded.class_names, cfg.num_classes)
    else:
        keys = latent.truncate(latent.seed_latents(seeds, cfg.nz), args.truncation)
        z = latent.keyframe_loop(keys, positions, args.interp, args.ease)  # (N, nz): small, frames are not
        y = _walk_classes(args.class_, seeds, positions, loaded.class_names, cfg.num_classes, args.ease)

    def frames():  # at the model's resolution: the writers upscale
        return render_walk_frames(G, z, y, precision=args.precision)

    written = []
    torch_n, x264_n = split_cores(available_cores())
    if out.suffix.lower() == ".mp4":
        with torch_threads(torch_n):  # G on some cores, x264 on the others, at the same time
            written.append(write_mp4(frames(), out, args.fps, args.size, args.filter, crf=args.crf,
                                      preset=args.preset, threads=x264_n))
    if out.suffix.lower() == ".gif" or args.gif:
        written.append(write_gif(frames(), out.with_suffix(".gif"), args.fps, args.size, args.filter))
    dt = time.perf_counter() - t0
    for info in written:
        print(f"wrote {info.path}: {info.frames} frames, {info.width}x{info.height}, "
              f"{info.seconds:.2f} s at {info.fps:g} fps")
    print(f"rendered in {dt:.2f} s ({n_frames / args.fps / dt:.1f}x real time)")
    return 0


# ---------------------------------------------------------------------------- timelapse


def run_timelapse(args: argparse.Namespace) -> int:
    run_dir = Path(args.run)
    if not run_dir.is_dir():
        raise UserError(f"--run {args.run}: no such folder")
    if not 1 <= args.fps <= 120:
        raise UserError(f"--fps {args.fps}: must be between 1 and 120")
    if args.size is not None and not 16 <= args.size <= 4096:
        raise UserError(f"--size {args.size}: must be between 16 and 4096 px")
    if not 0 <= args.hold <= 60:
        raise UserError(f"--hold {args.hold}: must be between 0 and 60 seconds")
    t0 = time.perf_counter()
    info = timelapse(run_dir, args.out, fps=args.fps, size=args.size, hold_last_s=args.hold,
                     label=not args.no_label)
    print(f"wrote {info.path}: {info.frames} frames, {info.width}x{info.height}, "
          f"{info.seconds:.2f} s at {info.fps:g} fps ({time.perf_counter() - t0:.2f} s)")
    return 0


# ---------------------------------------------------------------------------- project


def read_photo(path: Path, res: int) -> np.ndarray:
    """The photo at `path`, decoded safely (content-sniffed allowlist, bomb guard, EXIF
    orientation, first frame), centre-cropped and resized to res x res: uint8 (res, res, C)."""
    from gan_core.data.decode import SkipImage, decode_image

    if not path.is_file():
        raise UserError(f"--image {path}: no such file")
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise UserError(f"--image {path.name}: {size / 2**20:.0f} MB is larger than {MAX_IMAGE_BYTES // 2**20} MB")
    try:
        decoded = decode_image(path.read_bytes(), res, fit="crop", min_size=8)
    except SkipImage as e:
        raise UserError(f"--image {path.name}: {e}") from None
    px = decoded.pixels
    return px[:, :, None] if px.ndim == 2 else px


def _find_discriminator(ckpt: Path):
    run_dir = ckpt if ckpt.is_dir() else ckpt.parent
    if not (run_dir / STATE_FILE).is_file():
        return None
    return load_discriminator(run_dir)


def run_project(args: argparse.Namespace) -> int:
    if not 0 <= args.steps <= 10_000:
        raise UserError(f"--steps {args.steps}: must be between 0 and 10000")
    if not 1 <= args.restarts <= 64:
        raise UserError(f"--restarts {args.restarts}: must be between 1 and 64")
    if not args.max_seconds > 0:
        raise UserError(f"--max-seconds {args.max_seconds}: must be positive")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {args.out}: is a file; give a folder")
    image_path = Path(args.image)
    loaded = load_generator(args.ckpt)
    G, cfg = loaded.generator, loaded.config.model
    target = read_photo(image_path, cfg.res)
    y = None
    if args.class_ is not None:
        y = class_input(args.class_, 1, loaded.class_names, cfg.num_classes)[0]
    D = None if args.no_d else _find_discriminator(Path(args.ckpt))
    with torch_threads(split_cores(available_cores())[0]):  # half the cores: a full team stalls on shared ones
        result = projection.project(G, target, steps=args.steps, seed=args.seed, D=D, y=y,
                                restarts=args.restarts, max_seconds=args.max_seconds)
    from safetensors.torch import save

    tensors = {"z": result.z.contiguous()}
    if result.y is not None:
        tensors["y"] = result.y.contiguous()
    meta = {"image": image_path.name, "loss": f"{result.loss:.6g}", "steps": str(result.steps),
            "seed": str(args.seed), "discriminator": str(D is not None)}
    atomic_write_bytes(out / "latent.safetensors", save(tensors, metadata=meta))
    buf = io.BytesIO()
    np.save(buf, result.z.numpy().astype(np.float32))
    atomic_write_bytes(out / "latent.npy", buf.getvalue())
    write_png(result.recon, out / "reconstruction.png")
    scale = max(1, 256 // cfg.res)
    pair = resize_frames(np.stack([target, result.recon]), (cfg.res * scale, cfg.res * scale))
    gap = np.full((pair.shape[1], max(2, scale * 2), 3), 255, np.uint8)
    write_png(np.concatenate([pair[0], gap, pair[1]], axis=1), out / "side_by_side.png")
    psnr = 10 * math.log10(4.0 / max(result.loss, 1e-12))  # peak-to-peak 2 in [-1, 1]
    summary = {"loss": round(result.loss, 6), "psnr_db": round(psnr, 2), "steps": result.steps,
               "seconds": round(result.seconds, 2), "discriminator": D is not None}
    if result.y is not None:
        k = int(result.y.argmax())
        name = loaded.class_names[k] if k < len(loaded.class_names) else str(k)
        summary["class"] = name
    print(f"projected {image_path.name} into {out}/ (latent.safetensors, latent.npy, reconstruction.png, "
          f"side_by_side.png): {json.dumps(summary)}")
    return 0
