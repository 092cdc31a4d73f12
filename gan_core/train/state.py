"""Training state <-> flat named tensors (safetensors holds tensors and string metadata only)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def prefixed(prefix: str, sd: dict[str, Tensor]) -> dict[str, Tensor]:
    return {prefix + k: v for k, v in sd.items()}


def unprefixed(prefix: str, t: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k[len(prefix):]: v for k, v in t.items() if k.startswith(prefix)}


def optimizer_tensors(prefix: str, opt: torch.optim.Optimizer) -> dict[str, Tensor]:
    """Per-parameter state (Adam's step, exp_avg, exp_avg_sq) as `{prefix}{index}.{name}`."""
    out = {}
    for idx, st in opt.state_dict()["state"].items():
        for name, value in st.items():
            out[f"{prefix}{idx}.{name}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return out


def optimizer_meta(opt: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """The param groups (hyperparameters and parameter indices): JSON-serialisable."""
    return [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
            for g in opt.state_dict()["param_groups"]]


def load_optimizer(opt: torch.optim.Optimizer, prefix: str, t: dict[str, Tensor],
                   groups: list[dict[str, Any]] | None) -> None:
    state: dict[int, dict[str, Tensor]] = {}
    for key, value in unprefixed(prefix, t).items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value.clone()
    sd = opt.state_dict()
    if groups is not None:
        sd["param_groups"] = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in groups]
    sd["state"] = state
    opt.load_state_dict(sd)
