"""Start a run from a trained model (transfer learning on a small upload).

Weights whose names and shapes match are copied; the rest (a new class count, a different
width) keep their fresh initialisation and are reported, so the user knows what was reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from gan_core import checkpoint
from gan_core.errors import CheckpointError


@dataclass
class TransferReport:
    source: str
    loaded: dict[str, int] = field(default_factory=dict)  # network -> tensors copied
    skipped: dict[str, list[str]] = field(default_factory=dict)  # network -> "name: reason"

    def to_text(self) -> str:
        lines = [f"fine-tuning from {self.source}"]
        for net, n in self.loaded.items():
            lines.append(f"  {net}: {n} tensors loaded")
        for net, items in self.skipped.items():
            if items:
                lines.append(f"  {net}: {len(items)} not matching, freshly initialised: " + "; ".join(items[:5])
                             + (" ..." if len(items) > 5 else ""))
        return "\n".join(lines)


def _copy_matching(module: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> tuple[int, list[str]]:
    own = module.state_dict()
    loaded, skipped = 0, []
    for k, v in own.items():
        src = tensors.get(k)
        if src is None:
            skipped.append(f"{k}: absent")
        elif tuple(src.shape) != tuple(v.shape):
            skipped.append(f"{k}: shape {list(src.shape)} vs {list(v.shape)}")
        else:
            with torch.no_grad():
                v.copy_(src.to(v.dtype))
            loaded += 1
    return loaded, skipped


def load_pretrained(trainer, source: str | Path) -> TransferReport:
    """Copy matching weights of `source` (a run folder or model file) into the trainer's nets.

    G (and its EMA copy) start from the source's EMA generator; D starts from the source's
    discriminator when its training state is present (bundled models ship one).
    """
    file = checkpoint.resolve_model_file(source)
    info, _ = checkpoint.inspect_safetensors(file, checkpoint.WEIGHT_DTYPES | {"I64"})
    g_tensors = {k: v for k, v in checkpoint.read_tensors(file, list(info)).items()}
    report = TransferReport(str(source))
    report.loaded["G"], report.skipped["G"] = _copy_matching(trainer.G, g_tensors)
    if trainer.G_ema is not None:
        trainer.G_ema.load_state_dict(trainer.G.state_dict())
    run_dir = file.parent
    d_file = next((n for n in (checkpoint.STATE_FILE, checkpoint.D_FILE) if (run_dir / n).is_file()), None)
    if d_file is not None:
        tensors, _ = checkpoint.load_training_state(run_dir, d_file)
        d_tensors = {k[2:]: v for k, v in tensors.items() if k.startswith("D.")}
        report.loaded["D"], report.skipped["D"] = _copy_matching(trainer.D, d_tensors)
    else:
        report.skipped["D"] = [f"no {checkpoint.D_FILE} beside the model: D starts fresh"]
    if report.loaded["G"] == 0:
        raise CheckpointError(f"{source}: no generator weights match this model (different resolution or width?)")
    return report
