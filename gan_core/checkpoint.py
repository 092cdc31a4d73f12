"""The one checkpoint path: safetensors + JSON config, validated before loading, written atomically.

A run folder has the Hugging Face layout:

    model.safetensors           EMA generator; its RunConfig JSON also in the file's metadata
    config.json                 RunConfig (model, train, class names, data)
    README.md                   model card
    training_state.safetensors  D, raw G, both optimisers, step, RNG states (for exact resume)
    samples/grid_0000200.png    fixed-z grids over time
    metrics.jsonl               one JSON object per log interval

Nothing here unpickles: a `.pt`/`.pkl` file is recognised by its bytes and refused. Every
file is checked with `safe_open` (header size, key count, names, shapes, dtypes, finiteness)
before a single weight is copied into a model.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from gan_core.config import ConfigError, RunConfig
from gan_core.errors import CheckpointError

FORMAT = "gan-studio"
FORMAT_VERSION = 1
MODEL_FILE = "model.safetensors"
STATE_FILE = "training_state.safetensors"
D_FILE = "discriminator.safetensors"  # exported model folders: D alone, for fine-tuning
CONFIG_FILE = "config.json"
MAX_KEYS = 4096  # generous for our models (a 128 px conditional G has < 100 tensors)
MAX_HEADER_BYTES = 16 * 2**20
MAX_FILE_BYTES = 2 * 2**30
WEIGHT_DTYPES = {"F32", "F16", "BF16"}
STATE_DTYPES = WEIGHT_DTYPES | {"I64", "U8"}


# ---------------------------------------------------------------------------- writing


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves either the old file or the new one.

    Temp file in the same folder, fsync, then os.replace (atomic on POSIX and Windows). On any
    error (disk full, say) the temp file is removed and the previous file is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; checkpoints are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def cleanup_temp_files(folder: Path) -> list[Path]:
    """Remove temp files left by a killed write (`.NAME.xxxx.tmp`); returns what was removed."""
    removed = []
    for p in Path(folder).glob(".*.tmp"):
        if p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _check_finite(tensors: dict[str, torch.Tensor], what: str) -> None:
    for name, t in tensors.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise CheckpointError(f"refusing to save {what}: tensor {name} has NaN or Inf values")


def _to_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return st_save(flat, metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION), **metadata})


def save_generator(
    path: Path, generator: torch.nn.Module, run_cfg: RunConfig, *, half: bool = False
) -> Path:
    """Save a generator (normally the EMA copy) as one self-describing safetensors file.

    `half` stores float16 weights (half the size; the loader converts back to float32).
    """
    sd = generator.state_dict()
    _check_finite(sd, "the generator")
    if half:
        sd = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
    path = Path(path)
    atomic_write_bytes(path, _to_bytes(sd, {"config": run_cfg.to_json()}))
    return path


def save_run_config(run_dir: Path, run_cfg: RunConfig) -> None:
    atomic_write_text(Path(run_dir) / CONFIG_FILE, run_cfg.to_json() + "\n")


def save_training_state(
    path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    """Save everything needed to resume exactly. `meta` must be JSON-serialisable."""
    _check_finite({k: v for k, v in tensors.items() if not k.startswith("rng.")}, "the training state")
    atomic_write_bytes(Path(path), _to_bytes(tensors, {"state": json.dumps(meta)}))


# ---------------------------------------------------------------------------- validation


def _looks_like_pickle(head: bytes) -> bool:
    """`head`: the first 9 bytes. Pickle protocol 2+ starts with 0x80, torch.save's zip with "PK".

    A safetensors file starts with its header length (8 bytes, whose first may be 0x80)
    followed by the JSON header's "{", so that byte decides first.
    """
    if head[8:9] == b"{":
        return False
    return head[:1] == b"\x80" or head[:2] == b"PK"


def inspect_safetensors(path: Path, allowed_dtypes: set[str]) -> tuple[dict[str, tuple], dict[str, str]]:
    """Validate a safetensors file without loading tensors: returns ({key: (dtype, shape)}, metadata).

    Refuses pickles, truncated files, oversized or inconsistent headers, too many keys and
    dtypes outside `allowed_dtypes`, each with a message that names the file.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise CheckpointError(f"{name}: no such checkpoint file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise CheckpointError(f"{name}: {size / 2**20:.0f} MB is too large for a GAN Studio model")
    with open(path, "rb") as f:
        head = f.read(9)
    if _looks_like_pickle(head):
        raise CheckpointError(
            f"{name}: this is a PyTorch pickle (.pt/.pth/.pkl). GAN Studio only loads safetensors, "
            "because unpickling can run arbitrary code; convert it with safetensors.torch.save_file"
        )
    if len(head) < 9:
        raise CheckpointError(f"{name}: file is too short to be a safetensors checkpoint")
    if head[8:9] != b"{":  # a safetensors header is JSON: an object right after its 8-byte length
        raise CheckpointError(f"{name}: not a safetensors file (no safetensors header at its start); "
                              "upload a model.safetensors exported by GAN Studio")
    (header_len,) = struct.unpack("<Q", head[:8])
    if header_len > MAX_HEADER_BYTES:
        raise CheckpointError(f"{name}: safetensors header of {header_len} bytes is too large")
    if header_len > size - 8:
        raise CheckpointError(f"{name}: corrupt safetensors file (header longer than the file)")
    with open(path, "rb") as f:
        f.seek(8)
        try:
            header = json.loads(f.read(header_len))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CheckpointError(f"{name}: corrupt safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: corrupt safetensors file (header is not an object)")
    keys = [k for k in header if k != "__metadata__"]
    if len(keys) > MAX_KEYS:
        raise CheckpointError(f"{name}: {len(keys)} tensors is more than a GAN Studio model has")
    try:
        with safe_open(str(path), framework="pt") as f:  # checks offsets, overlaps, sizes
            metadata = f.metadata() or {}
            info = {}
            for k in f.keys():
                sl = f.get_slice(k)
                info[k] = (sl.get_dtype(), tuple(sl.get_shape()))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{name}: corrupt safetensors file ({e})") from None
    bad = sorted({dt for dt, _ in info.values()} - allowed_dtypes)
    if bad:
        raise CheckpointError(
            f"{name}: unsupported tensor dtype {', '.join(bad)}; expected {', '.join(sorted(allowed_dtypes))}"
        )
    return info, metadata


def read_tensors(path: Path, keys: list[str]) -> dict[str, torch.Tensor]:
    with safe_open(str(path), framework="pt", device="cpu") as f:
        return {k: f.get_tensor(k) for k in keys}


def check_state_matches(
    name: str, found: dict[str, tuple], expected: dict[str, torch.Tensor]
) -> None:
    """Raise unless `found` ({key: (dtype, shape)}) has exactly the keys and shapes of `expected`."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s) (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        raise CheckpointError(f"{name}: does not match its config's architecture: {'; '.join(parts)}")
    for k, t in expected.items():
        if tuple(t.shape) != found[k][1]:
            raise CheckpointError(
                f"{name}: tensor {k} has shape {list(found[k][1])}, its config needs {list(t.shape)}"
            )


def _run_config_from(path: Path, metadata: dict[str, str]) -> RunConfig:
    text = metadata.get("config")
    source = "its metadata"
    if text is None:
        cfg_file = path.parent / CONFIG_FILE
        if not cfg_file.is_file():
            raise CheckpointError(
                f"{path.name}: no config in the file's metadata and no {CONFIG_FILE} beside it"
            )
        text, source = cfg_file.read_text(encoding="utf-8", errors="replace"), CONFIG_FILE
    try:
        return RunConfig.from_json(text, strict=False)
    except ConfigError as e:
        raise CheckpointError(f"{path.name}: bad config in {source}: {e}") from None


# ---------------------------------------------------------------------------- loading


@dataclass
class LoadedGenerator:
    generator: torch.nn.Module  # eval mode, float32, on the requested device
    config: RunConfig
    path: Path  # the model.safetensors file

    @property
    def class_names(self) -> list[str]:
        return self.config.class_names


def resolve_model_file(path: str | Path) -> Path:
    """A run folder or a file -> the model file inside; clear error if neither exists."""
    p = Path(path)
    if p.is_dir():
        p = p / MODEL_FILE
        if not p.is_file():
            raise CheckpointError(f"{path}: folder has no {MODEL_FILE}")
    elif not p.exists():
        raise CheckpointError(f"{path}: no such file or folder")
    return p


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> LoadedGenerator:
    """Load a generator from a run folder or a model.safetensors file, validating everything first."""
    from gan_core.models import Generator

    file = resolve_model_file(path)
    found, metadata = inspect_safetensors(file, WEIGHT_DTYPES | {"I64"})
    run_cfg = _run_config_from(file, metadata)
    g = Generator(run_cfg.model)
    expected = g.state_dict()
    check_state_matches(file.name, found, expected)
    tensors = read_tensors(file, list(expected))
    for k, t in tensors.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise CheckpointError(f"{file.name}: tensor {k} has NaN or Inf values; the model is broken")
        if t.dtype == torch.int64 and expected[k].dtype != torch.int64:
            raise CheckpointError(f"{file.name}: tensor {k} should be floating point")
    g.load_state_dict({k: t.to(expected[k].dtype) for k, t in tensors.items()})
    return LoadedGenerator(g.to(device).eval().requires_grad_(False), run_cfg, file)


def load_training_state(run_dir: str | Path, name: str = STATE_FILE) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and metadata of a run's training_state.safetensors (or `name`), validated."""
    file = Path(run_dir) / name
    if not file.is_file():
        raise CheckpointError(f"{run_dir}: no {name} to resume from")
    found, metadata = inspect_safetensors(file, STATE_DTYPES)
    try:
        meta = json.loads(metadata["state"])
    except (KeyError, json.JSONDecodeError):
        raise CheckpointError(f"{file.name}: missing or corrupt resume metadata") from None
    return read_tensors(file, list(found)), meta


def load_discriminator(run_dir: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The discriminator of a run (from its training state), for projection or fine-tuning."""
    from gan_core.models import Discriminator

    run_cfg = load_run_config(run_dir)
    # a run has its full training state; an exported model folder only the discriminator
    name = STATE_FILE if (Path(run_dir) / STATE_FILE).is_file() else D_FILE
    tensors, _ = load_training_state(run_dir, name)
    d = Discriminator(run_cfg.model)
    sd = {k[2:]: v for k, v in tensors.items() if k.startswith("D.")}
    check_state_matches(STATE_FILE, {k: (None, tuple(v.shape)) for k, v in sd.items()}, d.state_dict())
    d.load_state_dict(sd)
    return d.to(device).eval().requires_grad_(False)


def load_run_config(run_dir: str | Path) -> RunConfig:
    file = Path(run_dir) / CONFIG_FILE
    if not file.is_file():
        raise CheckpointError(f"{run_dir}: no {CONFIG_FILE}")
    try:
        return RunConfig.from_json(file.read_text(encoding="utf-8", errors="replace"), strict=False)
    except ConfigError as e:
        raise CheckpointError(f"{file}: {e}") from None
