"""Shared pieces of the benchmarks: result rows, medians, peak memory, the table."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass


@dataclass
class Row:
    """One benchmark figure, measured against its baseline in the same run."""

    name: str  # what was measured, e.g. "ingest 2,000 JPEG zip -> 64 px"
    ours: float  # our figure
    baseline: float  # the baseline's figure, same run
    unit: str  # e.g. "images/s", "ms", "MiB"
    higher_is_better: bool = True
    target: float = 0.0  # the ratio we promise (0 = none)
    notes: str = ""

    @property
    def ratio(self) -> float:
        """How many times better ours is (always > 1 when ours wins)."""
        if self.higher_is_better:
            return self.ours / self.baseline if self.baseline else float("inf")
        return self.baseline / self.ours if self.ours else float("inf")

    def to_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def format_table(rows: list[Row]) -> str:
    head = f"{'benchmark':<48} {'ours':>12} {'baseline':>12} {'unit':<10} {'ratio':>7} {'target':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        target = f"{r.target:.1f}x" if r.target else "-"
        ok = "" if not r.target else ("  ok" if r.ratio >= r.target else "  MISSED")
        lines.append(
            f"{r.name:<48} {r.ours:>12.4g} {r.baseline:>12.4g} {r.unit:<10} {r.ratio:>6.2f}x {target:>7}{ok}"
        )
    return "\n".join(lines)


def print_rows(rows: list[Row]) -> None:
    """The table, then each row's notes."""
    print(format_table(rows))
    for r in rows:
        if r.notes:
            print(f"  {r.name.strip()}: {r.notes}")


def peak_rss_mib_of(code: str, env: dict | None = None) -> tuple[float, str]:
    """Run `code` in a fresh Python and return (its peak RSS in MiB, its stdout).

    A subprocess is the honest way to measure peak memory: this process's own history
    (imports, earlier benchmarks) does not count.
    """
    # VmHWM is this process's own peak; ru_maxrss of a child also counts its parent's peak
    # (Linux keeps it across exec), so it is only the fallback off Linux.
    wrapper = (
        "import resource, sys\n"
        + code
        + "\ntry:\n    kb = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
        + "except OSError:\n    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        + "print('__PEAK_KB__', kb, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    )
    kb = next(int(l.split()[1]) for l in proc.stderr.splitlines() if l.startswith("__PEAK_KB__"))
    return kb / 1024, proc.stdout
