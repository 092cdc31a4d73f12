"""One user's playground: up to two runs (A and B) on the same data and seed, and their points.

The UI keeps one ToySession per browser session and calls `sync` with the settings it
shows, then `advance` and `snapshot`. Runs are rebuilt only when something structural
changes (distribution, user points, network sizes, SN, seed); losses, penalties, learning
rates, D steps and batch size switch live, so a user can change the loss mid-run and watch
what happens.
"""

from __future__ import annotations

import threading

import numpy as np

from gan_core.errors import DatasetError
from gan_core.toy.config import ToyConfig
from gan_core.toy.distributions import MAX_POINTS, Distribution, make_distribution, normalise_points
from gan_core.toy.render import ViewOptions, render_curves, render_view
from gan_core.toy.trainer import ToyTrainer

CANVAS_EXTENT = 3.0  # the click canvas shows [-3, 3]^2, the scale of ring8's view


class ToySession:
    """Runs "A" (always) and "B" (compare mode) plus the user's custom points."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # one event at a time per session (a tick and a click may overlap)
        self.points = np.zeros((0, 2), dtype=np.float64)  # user points in canvas coordinates
        self.points_version = 0  # bumped on every edit, so runs on the old points are rebuilt
        self.runs: dict[str, ToyTrainer] = {}
        self._built_on: dict[str, int] = {}  # run -> points_version it was built with

    # -- user points -------------------------------------------------------------------
    def add_point(self, x: float, y: float) -> None:
        if len(self.points) >= MAX_POINTS:
            raise DatasetError(f"at most {MAX_POINTS} points")
        self.points = np.vstack([self.points, [[float(x), float(y)]]])
        self.points_version += 1

    def undo_point(self) -> None:
        if len(self.points):
            self.points = self.points[:-1]
            self.points_version += 1

    def set_points(self, points: np.ndarray) -> None:
        """Replace the points (e.g. from a CSV, already parsed and bounded) with `points` (N, 2).

        The cloud is centred and scaled to fit the canvas, as `custom(normalise=True)` does.
        """
        make_distribution("custom", points)  # validates shape, count and finiteness
        self.points = normalise_points(points)
        self.points_version += 1

    def clear_points(self) -> None:
        self.points = np.zeros((0, 2), dtype=np.float64)
        self.points_version += 1

    def distribution(self, name: str) -> Distribution:
        """The target named `name`; "custom" uses this session's points as they are."""
        if name == "custom":
            return make_distribution("custom", self.points, normalise=False)
        return make_distribution(name)

    # -- runs --------------------------------------------------------------------------
    def sync(self, cfgs: dict[str, ToyConfig]) -> list[str]:
        """Make the runs match `cfgs` (name -> config); returns the names that were (re)built."""
        rebuilt = []
        for name in list(self.runs):
            if name not in cfgs:
                del self.runs[name]
        for name, cfg in cfgs.items():
            run = self.runs.get(name)
            stale = cfg.dist == "custom" and self._built_on.get(name) != self.points_version
            if run is None or stale or cfg.structural_diff(run.cfg):
                self.runs[name] = ToyTrainer(cfg, self.distribution(cfg.dist))
                self._built_on[name] = self.points_version
                rebuilt.append(name)
            else:
                run.apply(cfg)
        return rebuilt

    def reset(self) -> None:
        """Forget every run; the next `sync` starts them from step 0."""
        self.runs.clear()

    def advance(self, steps: int, max_total: int) -> bool:
        """`steps` more steps for every run, none past `max_total`; True when a run hit the cap."""
        capped = False
        for run in self.runs.values():
            todo = min(steps, max_total - run.step_count)
            if todo > 0:
                run.run(todo)
            capped |= run.step_count >= max_total
        return capped

    def snapshot(self, name: str, opts: ViewOptions, curve_size: tuple[int, int] = (400, 150)) -> dict:
        """What the view shows for run `name`: frame, curves, step and coverage."""
        run = self.runs[name]
        last = run.history.rows[-1] if run.history.rows else {}
        return {
            "view": render_view(run, opts),
            "curves": render_curves(run.history, *curve_size),
            "step": run.step_count,
            "coverage": run.evaluate(),
            "last": last,
        }

