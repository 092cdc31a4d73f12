"""Ingestion: a zip of photo-like 1024x768 JPEGs -> a 64 px uint8 training tensor.

Baseline: the plain Pillow loop every tutorial writes, over the same zip in the same run:
`Image.open(f).convert("RGB").resize((64, 64))` per member, then `np.stack`.
Ours: `gan_core.data.load_images` (JPEG draft decoding, Lanczos, 2 worker threads, every
safety check on). Memory: the peak RSS of each in a fresh subprocess, above the RSS of the
same imports, next to the size of the output tensor.

    python -m benchmarks.ingest [--quick] [--images N] [--workers 2]

The generated zip is cached in the temp folder (never in git); --quick uses 200 images.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from benchmarks.common import Row, print_rows

RES = 64
W, H = 1024, 768
ROOT = Path(__file__).resolve().parent.parent


def photo_like(rng: np.random.Generator, noise: np.ndarray) -> Image.Image:
    """A 1024x768 image with a photo's statistics: smooth gradients, soft-edged objects,
    sensor-like grain (so JPEG sizes, ~150-250 KB at quality 90, resemble real photos)."""
    img = Image.fromarray(rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)).resize((W, H), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 8))):
        x, y = int(rng.integers(-200, W)), int(rng.integers(-200, H))
        sx, sy = int(rng.integers(60, 500)), int(rng.integers(60, 400))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + sx, y + sy), fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(2))
    oy, ox = int(rng.integers(0, noise.shape[0] - H)), int(rng.integers(0, noise.shape[1] - W))
    grain = noise[oy : oy + H, ox : ox + W]  # (H, W, 3) int16
    return Image.fromarray(np.clip(np.asarray(img, dtype=np.int16) + grain, 0, 255).astype(np.uint8))


def dataset_zip(n: int, seed: int = 0) -> Path:
    """The cached zip of `n` generated JPEGs (deflated, as desktop zip tools make them)."""
    cache = Path(tempfile.gettempdir()) / "gan_studio_bench"
    cache.mkdir(exist_ok=True)
    path = cache / f"ingest_{n}_{W}x{H}_s{seed}_v1.zip"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 6, (H + 64, W + 64, 3)).astype(np.int16)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(n):
            buf = _jpeg(photo_like(rng, noise))
            zf.writestr(f"photos/img_{i:05d}.jpg", buf)
    os.replace(tmp, path)
    return path


def _jpeg(img: Image.Image) -> bytes:
    import io

    b = io.BytesIO()
    img.save(b, "JPEG", quality=90)
    return b.getvalue()


def plain_loop(path: Path, res: int = RES) -> np.ndarray:
    """The baseline: open, convert, resize, one file after the other. (N, 3, res, res) uint8."""
    arrays = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            with zf.open(name) as f:
                arrays.append(np.asarray(Image.open(f).convert("RGB").resize((res, res))))
    return np.stack(arrays).transpose(0, 3, 1, 2)


def ours(path: Path, res: int = RES, workers: int = 2) -> np.ndarray:
    from gan_core.config import DataConfig
    from gan_core.data.ingest import load_images

    images, _ = load_images(path, DataConfig(res=res), workers=workers)
    return images.images


def _best_seconds(fn, repeats: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of all threads) of the fastest of `repeats` runs."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    return best


def _peak_mib(code: str) -> float:
    """Peak RSS in MiB of a fresh Python running `code`, read from /proc/self/status VmHWM
    (the child's own memory map). getrusage's ru_maxrss is not used: Linux carries the
    parent's peak across fork/exec, so a child of a large process reports the parent's."""
    probe = "\nprint(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code + probe], capture_output=True, text=True, env=env, check=True)
    return int(proc.stdout.split()[-1]) / 1024


def _peak_above_imports(call: str) -> float:
    """Peak RSS (MiB) of a fresh Python running `call`, minus one that only imports."""
    imports = (
        "import numpy, zipfile\nfrom PIL import Image\nimport benchmarks.ingest as b\n"
        "from gan_core.data.ingest import load_images\n"
    )
    return _peak_mib(imports + f"x = {call}\n") - _peak_mib(imports)


def run(quick: bool = False, images: int | None = None, workers: int = 2) -> list[Row]:
    n = images or (200 if quick else 2000)
    path = dataset_zip(n)
    path.read_bytes()  # warm the page cache so neither side pays for the first disk read
    repeats = 1 if quick else 2
    t_base, cpu_base = _best_seconds(lambda: plain_loop(path), repeats)
    t_ours, cpu_ours = _best_seconds(lambda: ours(path, workers=workers), repeats)
    t_one, _ = _best_seconds(lambda: ours(path, workers=1), repeats)
    out_mib = n * 3 * RES * RES / 2**20
    mem_ours = _peak_above_imports(f"b.ours(b.Path({str(path)!r}), workers={workers})")
    mem_base = _peak_above_imports(f"b.plain_loop(b.Path({str(path)!r}))")
    name = f"ingest {n} JPEG 1024x768 -> {RES}px"
    return [
        Row(f"{name} ({workers} workers)", n / t_ours, n / t_base, "images/s", target=3.0,
            notes=f"ours {t_ours:.2f} s, plain Pillow loop {t_base:.2f} s"),
        Row(f"{name} (1 worker)", n / t_one, n / t_base, "images/s",
            notes="draft decoding alone, no threads"),
        Row(f"{name} CPU/image", 1e3 * cpu_ours / n, 1e3 * cpu_base / n, "ms",
            higher_is_better=False, notes="all threads; insensitive to other load on the machine"),
        Row(f"{name} peak RSS", mem_ours, mem_base, "MiB", higher_is_better=False,
            notes=f"above the same imports, in a subprocess; output tensor {out_mib:.1f} MiB"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 images, one repeat")
    parser.add_argument("--images", type=int, default=None, help="number of generated JPEGs")
    parser.add_argument("--workers", type=int, default=2, help="our decoding threads")
    args = parser.parse_args(argv)
    rows = run(args.quick, args.images, args.workers)
    print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
