"""`python -m benchmarks [--quick]`: every benchmark, each figure a ratio to its baseline in the same run."""

from __future__ import annotations

import argparse
import platform
import sys
import time

from benchmarks.common import print_rows


def machine() -> str:
    import torch

    from gan_core.device import describe

    gpu = describe("cuda") if torch.cuda.is_available() else "no GPU"
    return f"{describe('cpu')}; {gpu}; torch {torch.__version__}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="a few minutes: fewer steps and repeats")
    p.add_argument("--only", nargs="*", choices=["ingest", "train", "video", "playground"], help="run only these suites")
    args = p.parse_args(argv)
    from benchmarks import ingest, playground, train, video

    suites = {"ingest": ingest.run, "train": train.run, "video": video.run, "playground": playground.run}
    rows = []
    t0 = time.time()
    for name, fn in suites.items():
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows += fn(quick=args.quick)
    print(f"machine: {machine()}")
    print(f"command: python -m benchmarks{' --quick' if args.quick else ''}   ({time.time() - t0:.0f} s)")
    print_rows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
