"""`DatasetReport`: what ingestion found, as plain data the app shows before training."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class DatasetReport:
    """The outcome of reading one image source. All names are display names, never paths."""

    source: str = ""  # display name of what was read, e.g. "photos.zip"
    images_used: int = 0  # images in the training tensor
    classes: dict[str, int] = field(default_factory=dict)  # class name -> images used, label order
    skipped: dict[str, str] = field(default_factory=dict)  # file -> why it was not used
    duplicates: dict[str, str] = field(default_factory=dict)  # dropped file -> the identical file kept
    empty_classes: list[str] = field(default_factory=list)  # class folders with no usable image
    smallest: tuple[int, int] | None = None  # (width, height) px of the smallest image used, upright
    largest: tuple[int, int] | None = None  # (width, height) px of the largest image used, upright
    res: int = 0  # training resolution, px
    channels: int = 0  # 1 (all grayscale) or 3
    fit: str = ""  # "crop" or "pad"
    ignored: int = 0  # OS metadata files left out silently (__MACOSX, .DS_Store, hidden)
    notes: list[str] = field(default_factory=list)  # things worth knowing: cap reached, tiny set
    seconds: float = 0.0  # wall time of the whole ingestion

    @property
    def usable(self) -> bool:
        return self.images_used > 0

    @property
    def duplicates_dropped(self) -> int:
        return len(self.duplicates)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["smallest"] = list(self.smallest) if self.smallest else None
        d["largest"] = list(self.largest) if self.largest else None
        d["duplicates_dropped"] = self.duplicates_dropped
        d["usable"] = self.usable
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_text(self, max_listed: int = 20) -> str:
        """A readable summary; long lists are cut at `max_listed` lines with a count of the rest."""
        lines = [f"Dataset: {self.source}"]
        shape = f"{self.channels} x {self.res} x {self.res}" if self.res else "-"
        lines.append(f"  images used: {self.images_used:,} (tensor {self.images_used:,} x {shape}, fit: {self.fit})")
        if self.smallest and self.largest:
            lines.append(
                f"  original sizes: {self.smallest[0]}x{self.smallest[1]} to {self.largest[0]}x{self.largest[1]} px"
            )
        if len(self.classes) > 1:
            lines.append(f"  classes ({len(self.classes)}):")
            lines += _listed([f"{name}: {n:,}" for name, n in self.classes.items()], max_listed)
        elif self.classes:
            lines.append(f"  one class: {next(iter(self.classes))}")
        if self.empty_classes:
            lines.append(f"  empty class folders (no usable image): {', '.join(self.empty_classes)}")
        if self.duplicates:
            lines.append(f"  exact duplicates dropped: {len(self.duplicates):,}")
            lines += _listed([f"{a} (same as {b})" for a, b in self.duplicates.items()], max_listed)
        if self.skipped:
            lines.append(f"  skipped: {len(self.skipped):,}")
            lines += _listed([f"{name}: {why}" for name, why in self.skipped.items()], max_listed)
        if self.ignored:
            lines.append(f"  ignored OS metadata files: {self.ignored:,}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        lines.append(f"  time: {self.seconds:.2f} s")
        return "\n".join(lines)


def _listed(items: list[str], limit: int) -> list[str]:
    shown = [f"    {s}" for s in items[:limit]]
    if len(items) > limit:
        shown.append(f"    ... and {len(items) - limit:,} more")
    return shown
