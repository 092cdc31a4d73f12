"""`python -m gan_core export --run DIR --out DEST`: a small, shareable model folder from a run.

DEST gets the Hub layout without the resume state: model.safetensors (the EMA generator,
float16 with --half), discriminator.safetensors (for fine-tuning; FreezeD needs D), the
config, the model card and the last sample grid. Bundled checkpoints are made this way.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from gan_core import checkpoint
from gan_core.cli import UserError
from gan_core.video import grid_files

D_FILE = checkpoint.D_FILE


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--run", required=True, help="the run folder to export")
    parser.add_argument("--out", required=True, help="the folder to write (replaced if it exists)")
    parser.add_argument("--half", action="store_true", help="store weights in float16 (half the size)")


def export_run(run_dir: Path, out: Path, half: bool = False) -> Path:
    import torch

    run_cfg = checkpoint.load_run_config(run_dir)
    g = checkpoint.load_generator(run_dir).generator
    d = checkpoint.load_discriminator(run_dir)
    tmp = out.with_name(f".{out.name}.export")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "samples").mkdir(parents=True)
    checkpoint.save_generator(tmp / checkpoint.MODEL_FILE, g, run_cfg, half=half)
    sd = {k: (v.half() if half and v.is_floating_point() else v) for k, v in d.state_dict().items()}
    checkpoint.save_training_state(tmp / D_FILE, {f"D.{k}": v for k, v in sd.items()}, {"only": "D"})
    checkpoint.save_run_config(tmp, run_cfg)
    for name in ("README.md", "metrics.jsonl"):
        if (run_dir / name).is_file():
            shutil.copyfile(run_dir / name, tmp / name)
    grids = grid_files(run_dir)
    if grids:
        last = grids[-1][1]
        shutil.copyfile(last, tmp / "samples" / last.name)
    del torch
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def run(args: argparse.Namespace, name: str) -> int:
    run_dir, out = Path(args.run), Path(args.out)
    if not (run_dir / checkpoint.STATE_FILE).is_file():
        raise UserError(f"{run_dir}: not a finished run folder (no {checkpoint.STATE_FILE})")
    export_run(run_dir, out, args.half)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"exported {run_dir} -> {out} ({size / 2**20:.1f} MB)")
    return 0
