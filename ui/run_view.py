"""Read a run folder into what the Train tab shows: plot tables, the latest grid, histograms.

Plain functions of a folder: the child process writes, these read, so any server thread
(or a reloaded page) shows the same run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from gan_core.train.run_folder import METRICS_FILE, SIGNALS_FILE, STATUS_FILE, WEIGHTS_FILE
from gan_core.video import grid_files

MAX_POINTS = 400  # points per plotted series: enough to see trends, cheap to send every tick


def read_status(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(run_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def read_metrics(run_dir: Path, name: str = METRICS_FILE) -> list[dict[str, Any]]:
    """metrics.jsonl as dicts; a half-written last line (the child is appending) is skipped."""
    rows = []
    try:
        with open(Path(run_dir) / name, encoding="utf-8") as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    continue
    except OSError:
        pass
    return rows


def _thin(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(rows) <= MAX_POINTS:
        return rows
    stride = math.ceil(len(rows) / MAX_POINTS)
    return rows[::stride] + ([rows[-1]] if (len(rows) - 1) % stride else [])


def long_table(rows: list[dict[str, Any]], series: dict[str, str]) -> pd.DataFrame:
    """A long-form table (step, value, series) for gr.LinePlot; `series` maps metric -> label.

    Every series has a row, a NaN one (not drawn) while it has no value yet: Gradio's plot
    takes its colour domain from the series present, and a curve outside it has no colour.
    """
    records = []
    for r in _thin([r for r in rows if "event" not in r]):
        for key, label in series.items():
            v = r.get(key)
            if isinstance(v, (int, float)) and math.isfinite(v):
                records.append({"step": int(r["step"]), "value": float(v), "series": label})
    present = {rec["series"] for rec in records}
    records += [{"step": 0, "value": math.nan, "series": label} for label in series.values() if label not in present]
    df = pd.DataFrame(records, columns=["step", "value", "series"])
    return df.astype({"step": "int64", "value": "float64", "series": "str"})  # numeric axes, even when empty


def latest_grid(run_dir: Path) -> Path | None:
    grids = grid_files(run_dir)
    return grids[-1][1] if grids else None


def read_weights(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(run_dir) / WEIGHTS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def histogram_table(weights: dict[str, Any], layer_key: str | None) -> pd.DataFrame:
    """Bars of one layer's weight histogram: (bin centre, count)."""
    for layer in weights.get("layers", []):
        if f"{layer['net']}: {layer['layer']}" == layer_key:
            counts = layer["counts"]
            lo, hi = layer["min"], layer["max"]
            width = (hi - lo) / max(len(counts), 1)
            return pd.DataFrame({"weight": [round(lo + width * (i + 0.5), 4) for i in range(len(counts))],
                                 "count": counts}).astype({"weight": "float64", "count": "float64"})
    return pd.DataFrame({"weight": [], "count": []}).astype({"weight": "float64", "count": "float64"})


def layer_keys(weights: dict[str, Any]) -> list[str]:
    return [f"{l['net']}: {l['layer']}" for l in weights.get("layers", [])]


def read_signals(run_dir: Path) -> list[dict[str, Any]]:
    return read_metrics(run_dir, SIGNALS_FILE)
