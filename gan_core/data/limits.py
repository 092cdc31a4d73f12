"""Resource limits of one ingestion job: what an upload may cost in bytes, entries and pixels.

Every limit guards a resource an anonymous upload could exhaust: memory (bytes inflated,
pixels decoded), CPU time (entries, inflation ratio) or the job's wall time. The defaults
suit a public app on a small machine; a trusted local user can raise them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from gan_core.errors import DatasetError

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps applied while reading a folder, file list or zip. All sizes in bytes."""

    max_total_bytes: int = 2 * 1024 * MIB  # all files read or inflated together, counted as read
    max_entry_bytes: int = 100 * MIB  # one file or zip entry, counted while inflating
    max_ratio: float = 200.0  # inflated / compressed size of one zip entry (zip-bomb guard) ...
    ratio_floor_bytes: int = 1 * MIB  # ... enforced once this much has inflated (tiny files may compress well)
    max_entries: int = 50_000  # files in a folder or entries in a zip, checked before reading any
    max_pixels: int = 89_478_485  # image header w*h; above = decompression bomb (Pillow's warning level)
    max_decoded_pixels: int = 50_000_000  # pixels actually decoded (after JPEG draft), ~150 MB as RGB

    def __post_init__(self) -> None:
        for name in ("max_total_bytes", "max_entry_bytes", "max_entries", "max_pixels",
                     "max_decoded_pixels"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1")
        if not self.max_ratio >= 1.0:
            raise ValueError("Limits.max_ratio must be at least 1")


class ByteBudget:
    """Bytes read so far by one job, shared by its worker threads (not a global)."""

    def __init__(self, limit: int, source_name: str) -> None:
        self.limit = limit
        self.source_name = source_name
        self.used = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> None:
        """Count `n` more bytes; raise DatasetError (the whole job stops) past the limit."""
        with self._lock:
            self.used += n
            over = self.used > self.limit
        if over:
            raise DatasetError(
                f"{self.source_name}: the files add up to more than {format_bytes(self.limit)} "
                "once uncompressed, the limit for one upload; upload fewer or smaller images"
            )


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
