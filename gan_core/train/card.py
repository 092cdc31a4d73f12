"""The model card (README.md of a run folder, in the Hugging Face layout)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from gan_core import checkpoint
from gan_core.config import RunConfig
from gan_core.video import grid_files

if TYPE_CHECKING:
    from gan_core.train.trainer import Trainer


def _fmt_seconds(s: float) -> str:
    h, rem = divmod(int(s), 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h {m:02d}m {sec:02d}s" if h else f"{m}m {sec:02d}s"


def write_model_card(
    run_dir: Path, run_cfg: RunConfig, trainer: "Trainer", *, command: str, hardware: str,
    extra_sections: dict[str, str] | None = None,
) -> None:
    m, t = run_cfg.model, run_cfg.train
    kind = f"class-conditional ({m.num_classes} classes)" if m.conditional else "unconditional"
    classes = ", ".join(run_cfg.class_names[:20]) + (" ..." if len(run_cfg.class_names) > 20 else "")
    grids = [p for _, p in grid_files(run_dir)]
    lines = [
        "---",
        "library_name: gan-studio",
        "tags: [gan, dcgan, safetensors, gan-studio]",
        "---",
        "",
        f"# GAN Studio model: {run_cfg.data or 'custom data'}",
        "",
        f"A {kind} DCGAN-family generator at {m.res} px ({m.channels} channel{'s' if m.channels > 1 else ''}), "
        "trained with [GAN Studio](https://github.com/)'s own training code.",
        "",
        "| | |",
        "|---|---|",
        f"| data | {run_cfg.data or 'custom'} |",
        f"| classes | {classes} |",
        f"| loss | {t.loss}{'' if t.penalty == 'none' else ' + ' + t.penalty} |",
        f"| steps | {trainer.step:,} (batch {t.batch_size}) |",
        f"| training time | {_fmt_seconds(trainer.elapsed)} |",
        f"| hardware | {hardware} |",
        f"| precision | {trainer.amp_dtype or 'fp32'} |",
        "",
    ]
    if grids:
        lines += [f"![samples at step {trainer.step}](samples/{grids[-1].name})", ""]
    if command:
        lines += ["## Reproduce", "", "```bash", command, "```", ""]
    for title, body in (extra_sections or {}).items():
        lines += [f"## {title}", "", body, ""]
    lines += [
        "## Use",
        "",
        "```bash",
        "python -m gan_core sample --ckpt THIS_FOLDER --n 64 --seed 0 --out grid.png",
        "```",
        "",
        "## Config",
        "",
        "```json",
        json.dumps({"model": m.to_dict(), "train": t.to_dict()}, indent=2, sort_keys=True),
        "```",
        "",
    ]
    checkpoint.atomic_write_text(Path(run_dir) / "README.md", "\n".join(lines))
