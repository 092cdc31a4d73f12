"""Video: a 10 s, 30 fps, 256 px latent walk from a 64 px model rendered in process; live frames.

Rows (ours vs baseline, same run):
- render: frames/s of the whole job (latents -> G in bf16 + channels_last, batches of 30,
  on one core -> 64 px rgb24 on a pipe -> ffmpeg: nearest x4 upscale, yuv420p, x264
  ultrafast on the other core -> MP4) vs the real-time rate, 30 frames/s; target 10x.
- live: frames/s of `video.live_frames` at 256 px vs the 15 frames/s a live walk needs.
- project: seconds to project a 64 px image (200 steps, 8 restarts, with D) vs 30 s.

The model is the dcgan-size G (res 64, nz 100, ngf 64) at random init, with its batch-norm
statistics calibrated by a few train-mode passes and its output layer scaled: untouched,
a random DCGAN G paints flat grey frames in eval mode, which H.264 compresses for free and
would flatter the encoder; calibrated, frames have texture and change like a trained G's.

    python -m benchmarks.video [--quick]
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import Row, median, print_rows
from gan_core import device, latent, projection, video
from gan_core.config import ModelConfig
from gan_core.models import build_models


def textured_dcgan(seed: int = 0) -> torch.nn.Module:
    """The 64 px DCGAN generator, random init, batch norm calibrated so its images vary."""
    G, _ = build_models(ModelConfig(res=64, nz=100, ngf=64), seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None  # cumulative statistics over the calibration passes
        G.train()
        for _ in range(3):
            G(torch.randn(64, 100, generator=gen))
        G.to_img.weight.mul_(8.0)
    return G.eval()


def _torch_threads() -> int:
    """Half the cores, as the CLI uses: a full team of OpenMP threads spins at barriers
    whenever another process holds one of its cores (3-10x slower on a shared 2-core box)."""
    return device.split_cores(device.available_cores())[0]


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process and by its reaped children (ffmpeg)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def render_fps(G: torch.nn.Module, seconds: float, fps: int = 30, size: int = 256) -> tuple[float, float, float]:
    """(frames/s, CPU s of G, CPU s of ffmpeg) of rendering a looping 4-keyframe walk to an
    MP4, end to end, set up as `python -m gan_core video` does it (cores split between G
    and x264). The CPU times show what the job costs whatever else the machine is doing."""
    n = round(seconds * fps)
    torch_n, x264_n = device.split_cores(device.available_cores())
    with tempfile.TemporaryDirectory() as tmp, device.torch_threads(torch_n):
        cpu0, t0 = _cpu_seconds(), time.perf_counter()
        keys = latent.seed_latents([1, 2, 3, 4], G.cfg.nz)
        z = latent.keyframe_loop(keys, latent.loop_positions(n), "slerp", "smoothstep")
        frames = video.render_walk_frames(G, z)  # 64 px; ffmpeg upscales to 256 on its way to yuv420p
        info = video.write_mp4(frames, Path(tmp) / "walk.mp4", fps, size=size, threads=x264_n)
        dt, cpu1 = time.perf_counter() - t0, _cpu_seconds()
    assert info.frames == n and info.width == size
    return n / dt, cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]


def live_fps(G: torch.nn.Module, frames: int, size: int = 256) -> float:
    """Frames per second a consumer pulls from the live iterator (after its first batch)."""
    stream = video.live_frames(G, seed=0, size=size, frames_per_key=60)
    with device.torch_threads(_torch_threads()):
        next(stream)  # the first batch pays one-time set-up; a live view starts once
        t0 = time.perf_counter()
        for _ in range(frames):
            next(stream)
        dt = time.perf_counter() - t0
    stream.close()
    return frames / dt


def project_seconds(G: torch.nn.Module) -> float:
    _, D = build_models(ModelConfig(res=64, nz=100, ngf=64), 0)
    target = latent.generate(G, latent.seed_latent(5, 100)[None], precision="fp32")[0]
    with device.torch_threads(_torch_threads()):
        t0 = time.perf_counter()
        projection.project(G, target, steps=200, restarts=8, D=D.eval())
        return time.perf_counter() - t0


def run(quick: bool = False) -> list[Row]:
    G = textured_dcgan()
    latent.generate(G, latent.seed_latents(range(30), 100))  # warm-up: kernels, channels_last weights
    repeats = 1 if quick else 3
    seconds = 2.0 if quick else 10.0
    renders = sorted(render_fps(G, seconds) for _ in range(repeats))
    render, g_cpu, ff_cpu = renders[len(renders) // 2]  # the median run
    n = round(seconds * 30)
    live = median([live_fps(G, 60 if quick else 240) for _ in range(repeats)])
    rows = [
        Row(f"walk {seconds:g} s 30 fps 256 px -> MP4, in process", render, 30.0, "frames/s", target=10.0,
            notes=f"baseline: real time; CPU for {n} frames: G {g_cpu:.2f} s + ffmpeg {ff_cpu:.2f} s"),
        Row("live walk frames at 256 px", live, 15.0, "frames/s", target=1.0,
            notes=f"baseline: the 15 frames/s a live walk needs; {_torch_threads()} torch thread(s)"),
    ]  # fmt: skip
    if not quick:
        rows.append(Row("project a 64 px image (200 steps, 8 restarts, D)", project_seconds(G), 30.0, "s",
                        higher_is_better=False, target=1.0, notes=f"baseline: the 30 s budget; {_torch_threads()} torch thread(s)"))  # fmt: skip
    return rows


if __name__ == "__main__":
    print(f"cores: {device.available_cores()}, load average before: {os.getloadavg()[0]:.1f}, precision: "
          f"{'bf16' if latent.resolve_precision('auto', 'cpu') else 'fp32'}")  # fmt: skip
    rows = run(quick="--quick" in sys.argv)
    print_rows(rows)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
