"""Frames to files: browser-playable MP4, GIF, contact sheets, PNGs and training timelapses.

Computing frames is kept apart from writing them: `render_walk_frames` and `live_frames`
yield uint8 (H, W, 3) frames lazily; `write_mp4`, `write_gif` and `write_png` take any
iterable of frames and a path. An MP4 is H.264 in yuv420p with the index at the front
(+faststart) and even sides, which is what every browser's <video> plays, encoded by
imageio-ffmpeg's bundled ffmpeg from raw rgb24 on a pipe, one frame at a time.

Every write goes to a temp file in the destination folder (`.NAME.xxxx.tmp`, the pattern
`checkpoint.cleanup_temp_files` removes) and is renamed over the destination only once
complete; a failed or killed encode removes the temp file and reaps ffmpeg.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from gan_core.checkpoint import atomic_write_bytes
from gan_core.errors import GanStudioError
from gan_core.latent import endless_walk, generate_batches

FILTERS = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")
MAX_SIDE = 4096  # larger frames are a typo, not a video
GRID_RE = re.compile(r"grid_(\d+)\.png$")


class VideoError(GanStudioError):
    """A video cannot be rendered or written (bad size, fps, path, or ffmpeg failed)."""


# ---------------------------------------------------------------------------- frame sizes


def _even(n: int) -> int:
    return n + (n % 2)


def output_size(h: int, w: int, size: int | tuple[int, int] | None) -> tuple[int, int]:
    """The (height, width) frames of h x w px are written at: even, as yuv420p requires.

    size None keeps h x w (rounded up to even); an int scales the longer side to it,
    keeping the aspect ratio; a (width, height) pair is taken as given.
    """
    if size is None:
        oh, ow = h, w
    elif isinstance(size, int):
        if size < 2:
            raise VideoError(f"frame size {size} px is too small")
        oh, ow = (size, round(w * size / h)) if h >= w else (round(h * size / w), size)
    else:
        ow, oh = size
    oh, ow = _even(max(2, oh)), _even(max(2, ow))
    if max(oh, ow) > MAX_SIDE:
        raise VideoError(f"frame size {ow}x{oh} px is larger than {MAX_SIDE} px")
    return oh, ow


def resize_frames(frames: np.ndarray, hw: tuple[int, int], filter: str = "nearest") -> np.ndarray:
    """uint8 (N, h, w, C) with C in 1, 3, 4 -> (N, H, W, 3) RGB at hw = (H, W).

    "nearest" is pure indexing (an integer factor is one broadcast copy), so pixel art
    stays crisp and it costs almost nothing; other filters resize each frame with Pillow.
    """
    if frames.ndim != 4 or frames.dtype != np.uint8:
        raise VideoError(f"frames must be uint8 (N, H, W, C), got {frames.dtype} {frames.shape}")
    if frames.shape[3] == 1:
        frames = np.broadcast_to(frames, frames.shape[:3] + (3,))
    frames = frames[..., :3]
    n, h, w, _ = frames.shape
    H, W = hw
    if (H, W) == (h, w):
        return np.ascontiguousarray(frames)
    if filter not in FILTERS:
        raise VideoError(f"resize filter {filter!r} is not one of {', '.join(FILTERS)}")
    if filter == "nearest":
        if H % h == 0 and W % w == 0:
            return frames.repeat(H // h, axis=1).repeat(W // w, axis=2)  # the fastest of the numpy ways
        rows = ((2 * np.arange(H) + 1) * h) // (2 * H)  # the source pixel under each output pixel's centre
        cols = ((2 * np.arange(W) + 1) * w) // (2 * W)
        return frames[:, rows][:, :, cols]
    resample = Image.Resampling[filter.upper()]
    return np.stack([np.asarray(Image.fromarray(f).resize((W, H), resample)) for f in frames])


# ---------------------------------------------------------------------------- computing frames


def render_walk_frames(
    G: torch.nn.Module,
    z: torch.Tensor,
    y: int | torch.Tensor | None = None,
    size: int | tuple[int, int] | None = None,
    filter: str = "nearest",
    batch_size: int = 30,
    precision: str = "auto",
) -> Iterator[np.ndarray]:
    """The frames of latents z (N, nz) (and classes y, see `latent.generate_batches`):
    uint8 (H, W, 3) each, computed `batch_size` at a time and upscaled to `size`.

    Lazy: only one batch of frames exists at a time, however long the video.
    """
    hw = None
    for batch in generate_batches(G, z, y, batch_size=batch_size, precision=precision):
        if hw is None:
            hw = output_size(batch.shape[1], batch.shape[2], size)
        yield from resize_frames(batch, hw, filter)


def live_frames(
    G: torch.nn.Module,
    seed: int,
    size: int | None = 256,
    frames_per_key: int = 60,
    interp: str = "slerp",
    ease: str = "smoothstep",
    truncation: float = 1.0,
    y: int | torch.Tensor | None = None,
    filter: str = "nearest",
    batch_size: int = 8,
    precision: str = "auto",
) -> Iterator[np.ndarray]:
    """An endless latent walk for live streaming: uint8 (H, W, 3) frames, forever.

    Passes through the images of seeds seed, seed + 1, ... (see `latent.endless_walk`).
    A small `batch_size` keeps the first frame quick; the consumer sets the pace.
    """
    walk = endless_walk(G.cfg.nz, seed, frames_per_key, interp, ease, truncation, chunk=batch_size)
    for z in walk:
        yield from render_walk_frames(G, z, y, size, filter, batch_size, precision)


# ---------------------------------------------------------------------------- writing


@dataclass
class VideoInfo:
    path: Path
    frames: int  # frames written
    fps: float
    width: int
    height: int

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


def _temp_path(path: Path) -> Path:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise VideoError(f"{path}: cannot write in {path.parent} ({e.strerror or e})") from None
    os.close(fd)
    return Path(tmp)


def _check_out(path: str | Path, suffixes: tuple[str, ...]) -> Path:
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise VideoError(f"{path.name}: the file name must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise VideoError(f"{path}: is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise VideoError(f"{path}: cannot create the folder {path.parent} ({e.strerror or e})") from None
    return path


def _check_fps(fps: float) -> Fraction:
    try:
        f = Fraction(fps).limit_denominator(1001)
    except (TypeError, ValueError):
        raise VideoError(f"fps {fps!r} is not a number") from None
    if not 1 <= f <= 240:
        raise VideoError(f"fps {fps} must be between 1 and 240")
    return f


def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def ffmpeg_exe() -> str:
    import imageio_ffmpeg  # imported when needed: it looks for its binary

    return imageio_ffmpeg.get_ffmpeg_exe()


def _close_source(frames: Iterable) -> None:
    """Close a generator source early, so its own cleanup (and its contexts) run now."""
    close = getattr(frames, "close", None)
    if callable(close):
        close()


def write_mp4(
    frames: Iterable[np.ndarray],
    path: str | Path,
    fps: float = 30,
    size: int | tuple[int, int] | None = None,
    filter: str = "nearest",
    crf: int = 20,
    preset: str = "ultrafast",
    threads: int = 0,
) -> VideoInfo:
    """Encode uint8 (H, W, C) frames to a browser-playable MP4 at `path`, streaming.

    H.264 (libx264), yuv420p, +faststart (the index before the data, so a browser starts
    playing before the download ends), even sides; frames are resized to `size` (see
    `output_size`) with `filter` before encoding. crf: quality (18 is visually lossless,
    23 x264's default); threads 0 lets x264 choose. preset: x264's speed/size trade-off;
    on upscaled GAN frames "ultrafast" is both the fastest and the most faithful (measured
    at crf 20, 256 px: 36.5 dB PSNR and 0.23 CPU s per 300 frames, vs 30.6 dB and 0.55 s
    for "veryfast") at about twice the size (1.3 MB for 10 s), in the Constrained
    Baseline profile that every player decodes.
    Nearest-neighbour upscaling is done by ffmpeg's scaler (flags=neighbor, exact pixel
    repetition for integer factors) on the way to yuv420p, so small frames cross the pipe
    at their own size: 16x fewer bytes for 64 -> 256 px and no upscaling pass in Python.
    Only one frame is held at a time. On any failure (the frame source raises, ffmpeg
    fails or is killed) ffmpeg is killed and reaped, the temp file removed and the
    destination untouched; a VideoError says what ffmpeg reported.
    """
    path = _check_out(path, (".mp4",))
    rate = _check_fps(fps)
    if filter not in FILTERS:
        raise VideoError(f"resize filter {filter!r} is not one of {', '.join(FILTERS)}")
    tmp = _temp_path(path)
    proc: subprocess.Popen | None = None
    err = tempfile.TemporaryFile()  # ffmpeg's messages; a file cannot fill up and block it like a pipe
    n, hw = 0, None
    ok = False
    try:
        for frame in frames:
            frame = np.asarray(frame)
            if frame.ndim != 3:
                raise VideoError(f"frame {n} must be (H, W, C), got shape {frame.shape}")
            if hw is None:
                hw = output_size(frame.shape[0], frame.shape[1], size)
                src = frame.shape[:2]
                piped = src if filter == "nearest" else hw  # ffmpeg upscales nearest itself
                cmd = [
                    ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                    "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{piped[1]}x{piped[0]}",
                    "-r", str(rate), "-i", "pipe:0", "-an",
                    *scale_args(frame.shape[:2], hw, filter),
                    "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-threads", str(threads),
                    "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(tmp),
                ]  # fmt: skip
                proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
            if frame.shape[:2] != src:
                raise VideoError(f"frame {n} is {frame.shape[1]}x{frame.shape[0]} px, frame 0 {src[1]}x{src[0]}")
            out = resize_frames(frame[None], piped, filter)[0]  # RGB, and the size ffmpeg expects
            try:
                proc.stdin.write(memoryview(np.ascontiguousarray(out)).cast("B"))
            except (BrokenPipeError, OSError):
                said = _ffmpeg_said(proc, err)
                raise VideoError(f"{path.name}: ffmpeg stopped after {n} frames: {said}") from None
            n += 1
        if proc is None:
            raise VideoError(f"{path.name}: no frames to write")
        proc.stdin.close()
        code = proc.wait()
        if code != 0:
            raise VideoError(f"{path.name}: ffmpeg failed (exit status {code}): {_ffmpeg_said(proc, err)}")
        _fsync_replace(tmp, path)
        ok = True
    finally:
        if not ok:
            _close_source(frames)
        if proc is not None and proc.poll() is None:
            proc.kill()  # never leave a zombie: kill, then wait to reap it
            proc.wait()
        if proc is not None and proc.stdin and not proc.stdin.closed:
            try:
                proc.stdin.close()
            except OSError:
                pass
        err.close()
        if not ok:
            tmp.unlink(missing_ok=True)
    return VideoInfo(path=path, frames=n, fps=float(rate), width=hw[1], height=hw[0])


def scale_args(hw_in: tuple[int, int], hw_out: tuple[int, int], filter: str) -> list[str]:
    """ffmpeg arguments that resize hw_in to hw_out with nearest neighbours, if they differ."""
    if filter != "nearest" or tuple(hw_in) == tuple(hw_out):
        return []
    return ["-vf", f"scale={hw_out[1]}:{hw_out[0]}:flags=neighbor"]


def _ffmpeg_said(proc: subprocess.Popen, err) -> str:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    err.seek(0)
    text = err.read().decode("utf-8", "replace").strip().splitlines()
    if text:
        return text[-1][:300]
    code = proc.returncode
    return f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"


def write_gif(
    frames: Iterable[np.ndarray],
    path: str | Path,
    fps: float = 15,
    size: int | tuple[int, int] | None = None,
    filter: str = "nearest",
    loop: int = 0,
) -> VideoInfo:
    """Write an animated GIF (loop=0: forever), each frame with its own 256-colour palette.

    GIF stores delays in 1/100 s, so fps is rounded to 100/round(100/fps). Frames are kept
    palettised (1 byte a pixel) until the file is written atomically; Pillow merges
    consecutive identical frames into one longer frame, which plays the same.
    """
    path = _check_out(path, (".gif",))
    rate = _check_fps(fps)
    pal: list[Image.Image] = []
    hw = None
    try:
        for frame in frames:
            frame = np.asarray(frame)
            if hw is None:
                hw = output_size(frame.shape[0], frame.shape[1], size)
            rgb = resize_frames(frame[None], hw, filter)[0]
            # per-frame palette; no dithering, which would shimmer from frame to frame
            pal.append(Image.fromarray(rgb).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    except BaseException:
        _close_source(frames)
        raise
    if not pal:
        raise VideoError(f"{path.name}: no frames to write")
    buf = io.BytesIO()
    delay_ms = 10 * max(2, round(100 / float(rate)))  # browsers treat delays under 20 ms as 100 ms
    pal[0].save(buf, format="GIF", save_all=True, append_images=pal[1:], duration=delay_ms, loop=loop)
    atomic_write_bytes(path, buf.getvalue())
    return VideoInfo(path=path, frames=len(pal), fps=1000 / delay_ms, width=hw[1], height=hw[0])


def contact_sheet(frames: Iterable[np.ndarray], cols: int = 8, pad: int = 2, pad_value: int = 0) -> np.ndarray:
    """A grid of uint8 (H, W, C) frames, row by row, with `pad` px between and around them.

    Returns uint8 (rows (H + pad) + pad, cols (W + pad) + pad, C); the last row is padded
    with `pad_value` where frames run out.
    """
    frames = [np.asarray(f) for f in frames]
    if not frames:
        raise VideoError("a contact sheet needs at least one frame")
    if cols < 1:
        raise VideoError(f"columns {cols} must be at least 1")
    h, w, c = frames[0].shape
    cols = min(cols, len(frames))
    rows = -(-len(frames) // cols)
    sheet = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, np.uint8)
    for i, f in enumerate(frames):
        r, q = divmod(i, cols)
        y0, x0 = pad + r * (h + pad), pad + q * (w + pad)
        sheet[y0 : y0 + h, x0 : x0 + w] = f
    return sheet


def write_png(image: np.ndarray, path: str | Path) -> Path:
    """Write a uint8 (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image as PNG, atomically."""
    path = _check_out(path, (".png",))
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise VideoError(f"{path.name}: image must be uint8, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return path


# ---------------------------------------------------------------------------- timelapse


def grid_files(run_dir: str | Path) -> list[tuple[int, Path]]:
    """A run's fixed-z sample grids, (step, path) in step order (samples/grid_0000200.png)."""
    folder = Path(run_dir) / "samples"
    found = []
    if folder.is_dir():
        for p in folder.iterdir():
            m = GRID_RE.fullmatch(p.name)
            if m and p.is_file():
                found.append((int(m.group(1)), p))
    return sorted(found)


def _read_grid(path: Path, hw: tuple[int, int] | None) -> np.ndarray:
    """One grid PNG as uint8 RGB, resized to hw if given. Only PNG is opened."""
    try:
        with Image.open(path, formats=["PNG"]) as im:
            if im.width * im.height > 64_000_000:
                raise VideoError(f"{path.name}: {im.width}x{im.height} px is too large for a sample grid")
            im = im.convert("RGB")
            if hw is not None and im.size != (hw[1], hw[0]):
                im = im.resize((hw[1], hw[0]), Image.Resampling.BILINEAR)
            return np.asarray(im)
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise VideoError(f"{path.name}: cannot read this sample grid ({e})") from None


def _label(frame: np.ndarray, text: str) -> np.ndarray:
    """The frame with a dark band below it holding `text` (e.g. "step 1200")."""
    h, w, _ = frame.shape
    band = max(12, h // 16)
    out = np.zeros((h + band, w, 3), np.uint8)
    out[:h] = frame
    im = Image.fromarray(out)
    font = ImageFont.load_default(size=int(band * 0.75))
    ImageDraw.Draw(im).text((4, h + band // 2), text, fill=(255, 255, 255), font=font, anchor="lm")
    return np.asarray(im)


def _pad_even(frame: np.ndarray) -> np.ndarray:
    """Pad an odd side with one black row/column, so the video needs no resampling."""
    h, w, _ = frame.shape
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)))


def timelapse_frames(run_dir: str | Path, label: bool = True) -> Iterator[np.ndarray]:
    """A run's fixed-z grids in step order, each uint8 RGB at the first grid's size (even
    sides), optionally captioned with its step. Reads one grid at a time."""
    grids = grid_files(run_dir)
    if not grids:
        raise VideoError(f"{run_dir}: no samples/grid_*.png yet; a run saves one every sample_every steps")
    hw = None
    for step, p in grids:
        frame = _read_grid(p, hw)
        hw = frame.shape[:2]
        yield _pad_even(_label(frame, f"step {step}") if label else frame)


def timelapse(
    run_dir: str | Path,
    out_path: str | Path,
    fps: float = 8,
    size: int | None = None,
    hold_last_s: float = 1.0,
    label: bool = True,
) -> VideoInfo:
    """Render a run's fixed-z sample grids as a training timelapse, MP4 or GIF by extension.

    One grid per frame at `fps`; the last grid is held `hold_last_s` seconds so the final
    state is visible before the video loops.
    """
    out_path = Path(out_path)
    kind = out_path.suffix.lower()
    if kind not in (".mp4", ".gif"):
        raise VideoError(f"{out_path.name}: a timelapse is written as .mp4 or .gif")
    grids = grid_files(run_dir)
    if not grids:
        raise VideoError(f"{run_dir}: no samples/grid_*.png yet; a run saves one every sample_every steps")
    hold = max(0, round(hold_last_s * float(fps)))

    def frames() -> Iterator[np.ndarray]:
        last = None
        for last in timelapse_frames(run_dir, label):
            yield last
        for _ in range(hold):
            yield last

    if kind == ".gif":
        return write_gif(frames(), out_path, fps, size, filter="bilinear")
    return write_mp4(frames(), out_path, fps, size, filter="bilinear")


# ---------------------------------------------------------------------------- reading back


def probe_video(path: str | Path) -> dict:
    """What ffmpeg reads from a video file: codec, pix_fmt, width, height, frames, seconds.

    Frames and seconds come from decoding the whole stream (imageio_ffmpeg.count_frames_and_secs),
    the rest from the stream line of `ffmpeg -i`.
    """
    import imageio_ffmpeg

    path = Path(path)
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True, text=True, errors="replace",
    )  # fmt: skip
    m = re.search(r"Stream #\S+.*?: Video: (\w+)[^,]*, (\w+)[^,]*?(?:\([^)]*\))?, (\d+)x(\d+)", proc.stderr)
    if not m:
        raise VideoError(f"{path.name}: ffmpeg finds no video stream")
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    return {
        "codec": m.group(1),
        "pix_fmt": m.group(2),
        "width": int(m.group(3)),
        "height": int(m.group(4)),
        "frames": int(frames),
        "seconds": float(seconds),
    }
