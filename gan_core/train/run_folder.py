"""The run folder callback: fixed-z grids, metrics.jsonl, checkpoints and the model card.

Everything the app and the CLI show comes from here, so a UI in another process can follow
a run by reading the folder: `metrics.jsonl` grows a line per log interval, `samples/`
gains a grid per sample interval, `status.json` says where the run stands.
"""

from __future__ import annotations

import json
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from gan_core import checkpoint
from gan_core.config import RunConfig
from gan_core.device import describe
from gan_core.train.card import write_model_card
from gan_core.train.trainer import Callback, Trainer
from gan_core.video import grid_files

STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
SAMPLES_DIR = "samples"
WEIGHTS_FILE = "weights.json"
SIGNALS_FILE = "signals.jsonl"
NEIGHBOURS_FILE = "neighbours.png"
SPACING_SAMPLE = 256  # training images used to measure how far apart training images are


def grid_image(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Images in [-1, 1], (B, C, H, W) -> one uint8 (H', W', 3) grid with `pad` px white gaps."""
    b, c, h, w = images.shape
    nrow = nrow or int(np.ceil(np.sqrt(b)))
    rows = int(np.ceil(b / nrow))
    x = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
    if c == 1:
        x = np.repeat(x, 3, axis=1)
    out = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(b):
        r, col = divmod(i, nrow)
        y0, x0 = pad + r * (h + pad), pad + col * (w + pad)
        out[y0 : y0 + h, x0 : x0 + w] = x[i].transpose(1, 2, 0)
    return out


def _line_step(line: str) -> int:
    """The step of one metrics.jsonl line; 0 (kept) for a line that is not a metrics record."""
    try:
        return int(json.loads(line).get("step", 0))
    except (ValueError, TypeError, AttributeError):
        return 0


def grid_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / SAMPLES_DIR / f"grid_{step:07d}.png"


class RunFolder(Callback):
    """Writes a run folder as training goes (see gan_core.checkpoint for the layout).

    Only the main rank writes. `command` is recorded in the model card so the run can be
    reproduced; `data_name` describes the data set.
    """

    def __init__(self, run_dir: str | Path, *, command: str = "", data_name: str = "", half: bool = False,
                 weight_stats: bool = False):
        self.dir = Path(run_dir)
        self.command, self.data_name, self.half = command, data_name, half
        self.weight_stats = weight_stats  # write weights.json (per-layer histograms) with each grid
        self.signals = weight_stats  # and signals.jsonl (diversity, near-duplicates, memorisation)
        self._train_small = None  # the training set downscaled once, for nearest neighbours
        self._spacing = 0.0
        self._t_start = 0.0
        self._last_grid_step = -1

    # -- helpers

    def run_config(self, trainer: Trainer) -> RunConfig:
        return RunConfig(model=trainer.model_cfg, train=trainer.cfg,
                         class_names=list(trainer.data.class_names), data=self.data_name or trainer.data.name)

    def write_status(self, trainer: Trainer, state: str, **extra: Any) -> None:
        status = {"state": state, "step": trainer.step, "steps": trainer.cfg.steps,
                  "elapsed": trainer.elapsed, "time": time.time(), "events": trainer.events[-20:], **extra}
        checkpoint.atomic_write_text(self.dir / STATUS_FILE, json.dumps(status))

    def save_grid(self, trainer: Trainer) -> Path:
        path = grid_path(self.dir, trainer.step)
        samples = trainer.sample_fixed()
        buf = BytesIO()
        Image.fromarray(grid_image(samples)).save(buf, format="PNG")
        checkpoint.atomic_write_bytes(path, buf.getvalue())
        self._last_grid_step = trainer.step
        if self.signals:
            self.write_signals(trainer, samples)
        return path

    def write_signals(self, trainer: Trainer, samples: torch.Tensor) -> None:
        """Cheap live signals of the fixed-z grid, for gan_core.diagnose (a few ms)."""
        from gan_core.metrics import live

        if self._train_small is None:
            images = torch.from_numpy(trainer.data.images)
            self._train_small = live.downscaled(images, value_range=(0, 255))
            n = min(SPACING_SAMPLE, len(images))
            if n >= 2:
                d, _ = live.nearest_neighbours(self._train_small[:n], self._train_small, k=2)
                self._spacing = float(d[:, 1].median())  # d[:, 0] is each image itself
        row: dict[str, Any] = {"step": trainer.step, "diversity": live.grid_diversity(samples),
                               "near_duplicates": live.near_duplicate_fraction(samples)}
        if self._spacing > 0:
            d, idx = live.nearest_neighbours(samples, self._train_small, k=1)
            order = d[:, 0].argsort()[:4]
            row.update(nn_distance=float(d[:, 0].median()), train_spacing=self._spacing,
                       neighbours=[[int(i), int(idx[i, 0])] for i in order])
            pairs = [torch.cat([samples[i : i + 1], trainer.data_tensor(int(idx[i, 0]))]) for i in order]
            buf = BytesIO()  # each row: a sample beside its nearest training image
            Image.fromarray(grid_image(torch.cat(pairs), nrow=2)).save(buf, format="PNG")
            checkpoint.atomic_write_bytes(self.dir / NEIGHBOURS_FILE, buf.getvalue())
        with open(self.dir / SIGNALS_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def save_checkpoint(self, trainer: Trainer) -> None:
        run_cfg = self.run_config(trainer)
        checkpoint.save_generator(self.dir / checkpoint.MODEL_FILE, trainer.sampling_generator(), run_cfg, half=self.half)
        checkpoint.save_training_state(self.dir / checkpoint.STATE_FILE, trainer.state_tensors(), trainer.state_meta())
        checkpoint.save_run_config(self.dir, run_cfg)
        write_model_card(self.dir, run_cfg, trainer, command=self.command,
                         hardware=describe(trainer.device))

    # -- callback hooks

    def on_start(self, trainer: Trainer) -> None:
        if not trainer.dist.is_main:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        for folder in (self.dir, self.dir / SAMPLES_DIR):  # leftovers of a killed write
            checkpoint.cleanup_temp_files(folder)
        checkpoint.save_run_config(self.dir, self.run_config(trainer))
        self._t_start = time.time()
        if trainer.step == 0:
            self.save_grid(trainer)  # step 0: what the untrained G makes
        else:
            self._forget_after(trainer.step)
        self.write_status(trainer, "running")

    def _forget_after(self, step: int) -> None:
        """Resuming at `step`: drop the metrics lines and grids of steps after it.

        A run killed between checkpoints had gone on past its last checkpoint; resuming
        replays those steps, so without this their lines would appear twice and the newest
        grid (the one export copies) would come from the discarded steps.
        """
        metrics = self.dir / METRICS_FILE
        if metrics.exists():
            lines = metrics.read_text(encoding="utf-8", errors="replace").splitlines()
            kept = [line for line in lines if _line_step(line) <= step]
            if len(kept) != len(lines):
                checkpoint.atomic_write_text(metrics, "".join(line + "\n" for line in kept))
        for grid_step, grid in grid_files(self.dir):
            if grid_step > step:
                grid.unlink(missing_ok=True)

    def on_step(self, trainer: Trainer, m: dict[str, Any]) -> None:
        if not trainer.dist.is_main:
            return
        cfg, step = trainer.cfg, trainer.step
        if step % cfg.log_every == 0 or "event" in m:
            with open(self.dir / METRICS_FILE, "a", encoding="utf-8") as f:
                f.write(json.dumps(m) + "\n")
        if step % cfg.sample_every == 0:
            self.save_grid(trainer)
            if self.weight_stats:
                checkpoint.atomic_write_text(self.dir / WEIGHTS_FILE, json.dumps(
                    {"step": step, "layers": trainer.weight_stats()}))
            self.write_status(trainer, "running")
        if step % cfg.ckpt_every == 0:
            self.save_checkpoint(trainer)

    def on_end(self, trainer: Trainer, reason: str) -> None:
        if not trainer.dist.is_main:
            return
        if reason != "error" or trainer.step > 0:
            try:
                if trainer.step != self._last_grid_step:
                    self.save_grid(trainer)
                self.save_checkpoint(trainer)
            except Exception as e:  # disk full, say: the previous checkpoint is intact
                self.write_status(trainer, "error", reason=f"could not save the final checkpoint: {e}")
                raise
        self.write_status(trainer, "finished" if reason in ("done", "time") else reason, reason=reason)
