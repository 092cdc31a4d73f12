"""Training and sampling speed on a CUDA GPU, against the DCGAN baseline on the same GPU.

Ours: gan_core's Trainer (bf16 autocast where the GPU has it, channels_last) on the emoji
set held on the GPU as uint8. Baseline: pytorch/examples' dcgan update, fp32, on batches
already on the GPU (its compute alone: the input pipeline removed, the strictest baseline).
Both in the same run, alternating, median of the repeats. Needs a GPU; prints what it is.

Command: `python -m benchmarks.cuda` (`--quick`: fewer steps, one repeat).
"""

from __future__ import annotations

import argparse
import torch

from benchmarks.common import Row, median, print_rows
from benchmarks.train import baseline_compute_only, emoji_folder, ours_images_per_s, sampling_ms


def throughput_rows(quick: bool) -> list[Row]:
    steps = 30 if quick else 200
    repeats = 1 if quick else 3
    rows = []
    for preset_name, res in (("dcgan", 64), ("dcgan", 32), ("cpu64", 64)):
        folder = emoji_folder()
        ours, base = [], []
        for _ in range(repeats):
            base.append(baseline_compute_only(res, steps, warmup=10, device="cuda"))
            ours.append(ours_images_per_s(folder, res, steps, warmup=10, preset_name=preset_name, device="cuda"))
        rows.append(Row(f"GPU train images/s, {preset_name}, {res} px", median(ours), median(base), "images/s",
                        notes=f"baseline: its fp32 update on batches already on the GPU; median of {repeats}"))
    return rows


def sampling_rows(quick: bool) -> list[Row]:
    ours, theirs = sampling_ms(256, 5 if quick else 30, device="cuda")
    return [Row("GPU sample 256 images at 64 px (ms)", ours, theirs, "ms",
                higher_is_better=False, notes="both copied back to the CPU: uint8 vs float")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("benchmarks.cuda: no CUDA GPU here; nothing to measure")
        return 1
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}")
    print_rows(throughput_rows(args.quick) + sampling_rows(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
