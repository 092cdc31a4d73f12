"""Playground: frames/s of the 2D playground's play loop against the 5 frames/s it promises.

One frame is what a timer tick of the Playground tab computes: `speed` training steps for
each run, then the 400 px view (decision surface, gradient arrows, latent mesh, points),
the loss curves and mode coverage, on one torch thread as the app does. Measured for one
run and for the A/B comparison, at the default speed (5 steps per frame) and the maximum (20).

Command: `python -m benchmarks.playground` (`--quick`: fewer frames).
"""

from __future__ import annotations

import argparse
import time

from benchmarks.common import Row, median, print_rows
from gan_core.device import torch_threads
from gan_core.toy.config import ToyConfig
from gan_core.toy.render import ViewOptions
from gan_core.toy.session import ToySession

TARGET_FPS = 5.0  # the tab's timer: one frame every 0.2 s
VIEW_SIZE = 400  # ui/playground.py's view


def frames_per_s(compare: bool, speed: int, frames: int) -> float:
    sess = ToySession()
    cfgs = {"A": ToyConfig(loss="ns")}
    if compare:
        cfgs["B"] = ToyConfig(loss="minimax", penalty="none")
    with torch_threads(1):
        sess.sync(cfgs)
        sess.advance(speed, 10**9)  # warm-up: first allocations
        for name in cfgs:
            sess.snapshot(name, ViewOptions(size=VIEW_SIZE))
        t0 = time.perf_counter()
        for _ in range(frames):
            sess.sync(cfgs)
            sess.advance(speed, 10**9)
            for name in cfgs:
                sess.snapshot(name, ViewOptions(size=VIEW_SIZE, label=name))
        return frames / (time.perf_counter() - t0)


def run(quick: bool = False) -> list[Row]:
    frames, repeats = (10, 1) if quick else (50, 3)
    rows = []
    for compare in (False, True):
        for speed in (5, 20):
            fps = median([frames_per_s(compare, speed, frames) for _ in range(repeats)])
            what = "A/B side by side" if compare else "one run"
            rows.append(Row(f"playground frames/s, {what}, {speed} steps/frame", fps, TARGET_FPS, "frames/s",
                            target=1.0, notes="1 torch thread; baseline = the tab's 5 frames/s timer"))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    print_rows(run(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
