"""`load_images`: any upload (folder, files, zip) -> a uint8 training tensor and a report.

The job runs once, before training: files are read and decoded by a small thread pool
(Pillow and zlib release the GIL while decoding, resizing and inflating), results are
consumed in file order so the output is deterministic, and each image is copied straight
into a preallocated (N, 3, res, res) array. Memory is the output tensor, one raw file and
one decoded image per worker, and a short window of finished (tiny) results.

Nothing here keeps state between calls, so the app may run several jobs from several
threads at once; a `progress(done, total)` callback reports from the calling thread and
may raise to cancel the job.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice

import numpy as np

from gan_core.config import DataConfig
from gan_core.data.decode import ALLOWED_TEXT, Decoded, SkipImage, decode_image
from gan_core.data.imageset import ImageSet
from gan_core.data.limits import Limits
from gan_core.data.report import DatasetReport
from gan_core.data.sources import Entry, Listing, Source, open_source
from gan_core.errors import DatasetError

FEW_IMAGES = 16  # below this many images the report suggests adding more
ProgressFn = Callable[[int, int], None]


@dataclass
class _Result:
    decoded: Decoded | None = None
    reason: str = ""  # why the file was skipped, when decoded is None
    digest: bytes = b""  # content hash of the file's bytes, for exact-duplicate detection


def load_images(
    source: Source,
    cfg: DataConfig | None = None,
    *,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    limits: Limits | None = None,
) -> tuple[ImageSet, DatasetReport]:
    """Read, check, decode and resize every image of `source` once.

    source: a folder, a .zip, one image file, or a list of files (each a path or a
      (path, display name) pair; a list may be a single zip). Subfolders are classes.
    cfg: resolution, crop/pad, max_images, size/aspect limits, dedupe, grayscale.
    workers: decoding threads (default: the CPUs this process may use, at most 8).
    progress: called as progress(files_done, files_total) from this thread; raise to cancel.
    limits: byte, entry and pixel caps (defaults suit a public app).

    Returns (ImageSet with images uint8 (N, C, res, res), C = 1 for an all-grayscale set
    when cfg.grayscale == "auto" else 3, labels int64 (N,); DatasetReport).
    Bad files are skipped and listed in the report; raises DatasetError (with a `.report`
    attribute when one exists) only when the source as a whole is unusable.
    """
    cfg = cfg or DataConfig()
    limits = limits or Limits()
    workers = max(1, workers or _default_workers())
    t0 = time.perf_counter()
    with open_source(source, limits) as listing:
        report = DatasetReport(source=listing.name, res=cfg.res, fit=cfg.fit, ignored=listing.ignored)
        skipped = dict(listing.skipped)
        entries = listing.entries
        capacity = min(len(entries), cfg.max_images)
        try:  # (N, 3, H, W), filled in order; untouched pages of a partly used array cost nothing
            pixels = np.empty((capacity, 3, cfg.res, cfg.res), np.uint8)
        except MemoryError:
            raise DatasetError(
                f"{listing.name}: {capacity:,} images at {cfg.res} px need "
                f"{capacity * 3 * cfg.res**2 / 2**30:.1f} GiB, more memory than is available; "
                "lower max_images or the resolution"
            ) from None
        folders: list[tuple[str, ...]] = []
        sizes: list[tuple[int, int]] = []
        first_of: dict[bytes, str] = {}  # content hash -> name of the file kept
        all_gray, n, done = True, 0, 0
        step = max(1, len(entries) // 200)
        if progress:
            progress(0, len(entries))
        results = _in_order(entries if capacity else [], _worker(cfg, limits), workers)
        with closing(results):  # stops the pool at once on a break, an error or a cancel
            for entry, result in results:
                done += 1
                if result.decoded is None:
                    skipped[entry.name] = result.reason
                elif cfg.dedupe and result.digest in first_of:
                    report.duplicates[entry.name] = first_of[result.digest]
                else:
                    first_of[result.digest] = entry.name
                    img = result.decoded.pixels  # (H, W) gray or (H, W, 3)
                    pixels[n] = img[None] if img.ndim == 2 else img.transpose(2, 0, 1)
                    all_gray &= result.decoded.gray
                    folders.append(entry.folders)
                    sizes.append(result.decoded.size)
                    n += 1
                if progress and (done % step == 0 or done == len(entries)):
                    progress(done, len(entries))
                if n == capacity:
                    break
        if progress and done < len(entries):
            progress(len(entries), len(entries))

    report.skipped = dict(sorted(skipped.items()))
    report.seconds = time.perf_counter() - t0
    if n == 0:
        err = DatasetError(_unusable_message(listing, report.skipped, cfg))
        err.report = report  # type: ignore[attr-defined] - the app shows what was skipped
        raise err

    labels, class_names, empty, root_beside = assign_classes(folders, listing.folders)
    images = pixels[:n]
    if cfg.grayscale == "auto" and all_gray:
        images = np.ascontiguousarray(images[:, :1])  # R == G == B: keep one channel
    report.images_used = n
    report.channels = images.shape[1]
    report.classes = {name: int(c) for name, c in zip(class_names, np.bincount(labels, minlength=len(class_names)))}
    report.empty_classes = empty
    report.smallest = min(sizes, key=lambda s: (s[0] * s[1], s))
    report.largest = max(sizes, key=lambda s: (s[0] * s[1], s))
    report.notes = _notes(cfg, n, len(entries) - done, sizes, all_gray, root_beside)
    report.seconds = time.perf_counter() - t0
    name = f"{listing.name} ({n:,} images)"
    return ImageSet(images=images, labels=labels, class_names=class_names, name=name), report


def _default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def _worker(cfg: DataConfig, limits: Limits) -> Callable[[Entry], _Result]:
    def work(entry: Entry) -> _Result:
        try:
            data = entry.read()
            digest = hashlib.blake2b(data, digest_size=16).digest() if cfg.dedupe else b""
            decoded = decode_image(
                data, cfg.res, fit=cfg.fit, min_size=cfg.min_size, max_aspect=cfg.max_aspect,
                max_pixels=limits.max_pixels, max_decoded_pixels=limits.max_decoded_pixels,
            )
        except SkipImage as e:
            return _Result(reason=str(e))
        except DatasetError:
            raise  # the job's total byte cap: stop everything
        except Exception as e:  # noqa: BLE001 - one hostile file must never stop the job
            return _Result(reason=f"could not be decoded ({type(e).__name__}: {e})")
        return _Result(decoded=decoded, digest=digest)

    return work


def _in_order(entries: list[Entry], work: Callable[[Entry], _Result], workers: int) -> Iterator[tuple[Entry, _Result]]:
    """Yield (entry, work(entry)) in entry order, computed by `workers` threads.

    A bounded window of submitted tasks keeps memory flat and lets the consumer stop early
    (cap reached, error, cancel): closing the generator cancels what has not started.
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
        todo = iter(entries)
        window = deque((e, pool.submit(work, e)) for e in islice(todo, 4 * workers))
        try:
            while window:
                entry, future = window.popleft()
                result = future.result()
                nxt = next(todo, None)
                if nxt is not None:
                    window.append((nxt, pool.submit(work, nxt)))
                yield entry, result
        finally:
            for _, future in window:
                future.cancel()


def assign_classes(
    file_folders: list[tuple[str, ...]], folders: set[tuple[str, ...]]
) -> tuple[np.ndarray, list[str], list[str], str | None]:
    """Class labels from folder names: (labels (N,) int64, class names, empty class folders,
    the name of the class of images lying beside the class folders, or None).

    Leading folders that merely wrap everything (`mydata/cat/...`, `mydata/dog/...`) are
    not a class level: while every image and folder sits under one same folder, go down.
    At the class level, each subfolder is a class (deeper folders merge into it); images
    at that level form one class named after the wrapper ("all" at the top). Folders at
    the class level without a usable image are reported as empty.
    """
    prefix: tuple[str, ...] = ()
    while True:
        d = len(prefix)
        heads = {f[d] for f in file_folders if len(f) > d}
        level_dirs = {p[d] for p in folders if len(p) > d and p[:d] == prefix}
        if any(len(f) == d for f in file_folders) or len(heads | level_dirs) != 1:
            break
        prefix += (next(iter(heads | level_dirs)),)
    d = len(prefix)
    root = prefix[-1] if prefix else "all"
    names = [f[d] if len(f) > d else root for f in file_folders]
    class_names = sorted(set(names))
    index = {c: i for i, c in enumerate(class_names)}
    labels = np.array([index[c] for c in names], dtype=np.int64)
    level_dirs = {p[d] for p in folders if len(p) > d and p[:d] == prefix}
    empty = sorted(level_dirs - set(class_names))
    root_beside = root if root in index and len(class_names) > 1 and root not in level_dirs else None
    return labels, class_names, empty, root_beside


def _notes(cfg: DataConfig, n: int, not_read: int, sizes: list[tuple[int, int]], gray: bool,
           root_beside: str | None) -> list[str]:
    notes = []
    if not_read > 0:
        notes.append(
            f"only the first {cfg.max_images:,} images were used (max_images); {not_read:,} more "
            "files were not read. Raise max_images or upload fewer images"
        )
    if n < FEW_IMAGES:
        notes.append(
            f"only {n} image{'s' if n != 1 else ''}: training will run, but a GAN needs at least a "
            "few dozen images to learn more than copies of them"
        )
    small = sum(1 for w, h in sizes if min(w, h) < cfg.res)
    if small:
        notes.append(f"{small:,} image(s) are smaller than {cfg.res} px and were upscaled (they will look soft)")
    if gray and cfg.grayscale == "auto":
        notes.append("every image is grayscale: kept as 1 channel")
    if root_beside:
        notes.append(f"some images lie beside the class folders and form a class of their own, {root_beside!r}")
    return notes


def _unusable_message(listing: Listing, skipped: dict[str, str], cfg: DataConfig) -> str:
    src = listing.name
    if not skipped:
        if listing.ignored:
            return (
                f"no usable images in {src}: it holds only operating-system metadata files "
                f"(__MACOSX, .DS_Store, hidden files). Add the image files themselves ({ALLOWED_TEXT})"
            )
        return f"no usable images in {src}: it holds no files. Add {ALLOWED_TEXT} images"
    examples = "; ".join(f"{name}: {why}" for name, why in list(skipped.items())[:3])
    more = f" and {len(skipped) - 3:,} more" if len(skipped) > 3 else ""
    return (
        f"no usable images in {src}: every file was skipped ({examples}{more}). "
        f"Upload {ALLOWED_TEXT} images of at least {cfg.min_size} px on each side"
    )
