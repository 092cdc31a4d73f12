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
    adapted: dict[str, list[str]] = field(default_factory=dict)  # network -> "name: how it was reshaped"
    skipped: dict[str, list[str]] = field(default_factory=dict)  # network -> "name: reason"

    def to_text(self) -> str:
        lines = [f"fine-tuning from {self.source}"]
        for net, n in self.loaded.items():
            lines.append(f"  {net}: {n} tensors loaded")
        for what, table in (("adapted", self.adapted), ("not matching, freshly initialised", self.skipped)):
            for net, items in table.items():
                if items:
                    lines.append(f"  {net}: {len(items)} {what}: " + "; ".join(items[:5])
                                 + (" ..." if len(items) > 5 else ""))
        return "\n".join(lines)


# A conditional G normalises with ConditionalBatchNorm2d (`X.bn.*` statistics and per-class
# `X.gamma`/`X.beta` tables); an unconditional G with a plain BatchNorm2d (`X.*`). These pairs
# let weights cross between the two: per-class tables average to one affine, one affine repeats.
_BN_TWINS = {"running_mean": "bn.running_mean", "running_var": "bn.running_var",
             "num_batches_tracked": "bn.num_batches_tracked", "weight": "gamma.weight", "bias": "beta.weight"}
_PER_CLASS = ("gamma.weight", "beta.weight", "embed.weight")  # (num_classes, C) tables


def _adapt(key: str, shape: tuple[int, ...], tensors: dict[str, torch.Tensor]) -> tuple[torch.Tensor | None, str]:
    """The source tensor for `key`, reshaped where a class count or conditioning differs.

    Returns (tensor, how) with how "" for an exact match, a short note for an adapted one,
    or (None, reason) when nothing fits.
    """
    src = tensors.get(key)
    if src is not None and tuple(src.shape) == shape:
        return src, ""
    head = key.rpartition(".")[0]
    for own, twin in _BN_TWINS.items():  # conditional <-> unconditional batch norm
        if key.endswith("." + own) and f"{head}.{twin}" in tensors:
            t = tensors[f"{head}.{twin}"]
            if t.dim() == 2 and len(shape) == 1 and t.shape[1] == shape[0]:
                return t.float().mean(0), "class-averaged"
            if tuple(t.shape) == shape:
                return t, "renamed"
        if key.endswith("." + twin) and f"{key[: -len(twin)]}{own}" in tensors:
            t = tensors[f"{key[: -len(twin)]}{own}"]
            if len(shape) == 2 and t.dim() == 1 and t.shape[0] == shape[1]:
                return t.float().expand(shape).clone(), "one affine for every class"
            if tuple(t.shape) == shape:
                return t, "renamed"
    if src is not None and key.endswith(_PER_CLASS) and src.dim() == 2 and len(shape) == 2 and src.shape[1] == shape[1]:
        keep = min(src.shape[0], shape[0])  # shared classes keep their rows; new ones start at the mean
        out = src.float().mean(0, keepdim=True).expand(shape).clone()
        out[:keep] = src[:keep].float()
        return out, f"{src.shape[0]} -> {shape[0]} classes"
    if src is None:
        return None, "absent"
    return None, f"shape {list(src.shape)} vs {list(shape)}"


def _copy_matching(module: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> tuple[int, list[str], list[str]]:
    """Copy what fits into `module`; returns (tensors copied, "name: how" adapted, "name: why" skipped)."""
    loaded, adapted, skipped = 0, [], []
    for k, v in module.state_dict().items():
        src, how = _adapt(k, tuple(v.shape), tensors)
        if src is None:
            skipped.append(f"{k}: {how}")
            continue
        with torch.no_grad():
            v.copy_(src.to(v.dtype))
        loaded += 1
        if how:
            adapted.append(f"{k}: {how}")
    return loaded, adapted, skipped


def load_pretrained(trainer, source: str | Path) -> TransferReport:
    """Copy matching weights of `source` (a run folder or model file) into the trainer's nets.

    G (and its EMA copy) start from the source's EMA generator; D starts from the source's
    discriminator when its training state is present (bundled models ship one).
    """
    file = checkpoint.resolve_model_file(source)
    info, _ = checkpoint.inspect_safetensors(file, checkpoint.WEIGHT_DTYPES | {"I64"})
    g_tensors = {k: v for k, v in checkpoint.read_tensors(file, list(info)).items()}
    report = TransferReport(str(source))
    report.loaded["G"], report.adapted["G"], report.skipped["G"] = _copy_matching(trainer.G, g_tensors)
    if trainer.G_ema is not None:
        trainer.G_ema.load_state_dict(trainer.G.state_dict())
    run_dir = file.parent
    d_file = next((n for n in (checkpoint.STATE_FILE, checkpoint.D_FILE) if (run_dir / n).is_file()), None)
    if d_file is not None:
        tensors, _ = checkpoint.load_training_state(run_dir, d_file)
        d_tensors = {k[2:]: v for k, v in tensors.items() if k.startswith("D.")}
        report.loaded["D"], report.adapted["D"], report.skipped["D"] = _copy_matching(trainer.D, d_tensors)
    else:
        report.skipped["D"] = [f"no {checkpoint.D_FILE} beside the model: D starts fresh"]
    if getattr(trainer, "D_aux", None) is not None:
        report.skipped["D_aux"] = ["the ImageNet-feature D (--aux-d) always starts fresh"]
    if report.loaded["G"] == 0:
        raise CheckpointError(f"{source}: no generator weights match this model (different resolution or width?)")
    return report
