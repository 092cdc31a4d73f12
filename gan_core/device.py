"""Device and precision choices, detected at run time, never at import."""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Iterator

import torch


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@functools.lru_cache(maxsize=None)
def cpu_bf16_is_fast() -> bool:
    """True where the CPU computes bf16 natively (AVX512-BF16 or AMX), so autocast pays off.

    Elsewhere bf16 is emulated and slower than fp32. Uses torch's own CPU-feature probes,
    which exist from torch 2.2 on; an older torch or a failing probe means fp32.
    """
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        fast = any(getattr(torch.cpu, p, lambda: False)() for p in probes)
        if not fast:
            return False
        with torch.autocast("cpu", dtype=torch.bfloat16):  # the op must actually run
            torch.nn.functional.conv2d(torch.ones(1, 2, 4, 4), torch.ones(2, 2, 3, 3))
        return True
    except Exception:
        return False


def resolve_precision(precision: str, device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype for `precision` ("auto" | "fp32" | "bf16") on `device`; None = fp32."""
    device = torch.device(device)
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu":
        return torch.bfloat16 if cpu_bf16_is_fast() else None
    return None


def autocast(device: torch.device | str, dtype: torch.dtype | None):
    """A context manager: autocast to `dtype` on `device`, or nothing when `dtype` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def available_cores() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def split_cores(cores: int) -> tuple[int, int]:
    """(torch threads, encoder threads) for rendering while encoding on `cores` cores.

    The generator and the encoder run at the same time, so they share the cores instead
    of both asking for all of them: on 2 cores, one each.
    """
    torch_n = max(1, cores // 2)
    return torch_n, max(1, cores - torch_n)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch CPU threads, then restore the previous count.

    Why: a team of two threads waits at barriers whenever another process (ffmpeg, the
    training child) holds one of two cores, and tiny networks lose more to synchronisation
    than they gain; one thread never waits. With the OpenMP builds of the Linux and Windows
    wheels the setting is per calling thread, so other requests of the app keep theirs.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def describe(device: torch.device | str) -> str:
    """A one-line description of the hardware, for model cards and benchmark tables."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    name = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:  # Linux; elsewhere the generic name
            name = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    import platform

    threads = torch.get_num_threads()
    bf16 = ", bf16 native" if cpu_bf16_is_fast() else ""
    return (f"CPU {name or platform.machine()} ({available_cores()} cores{bf16}), "
            f"{threads} torch thread{'s' if threads > 1 else ''}")
