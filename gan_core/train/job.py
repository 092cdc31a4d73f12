"""Run one training job from a plain spec: what the app's child process and tests call.

The spec is JSON-friendly so it can cross a process boundary:
    run_dir      the run folder to write (and to resume from)
    data         path of an ImageSet .npz (see ImageSet.save_npz)
    model        ModelConfig as a dict
    train        TrainConfig as a dict
    data_name    description for the model card
    resume       continue the run in run_dir exactly
    init_from    fine-tune from this model folder or file
    threads      torch threads for this process
    command      how to reproduce it, for the model card

Whatever happens, status.json in the run folder ends in "finished", "stopped" or "error"
with a plain message, so whoever watches the folder knows how the run ended.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any, Callable

from gan_core.errors import GanStudioError


def run_job(spec: dict[str, Any], stop: Callable[[], bool] = lambda: False) -> str:
    """Train as `spec` says until done, stopped or failed; returns the final state."""
    import torch

    from gan_core import checkpoint
    from gan_core.config import ModelConfig, TrainConfig
    from gan_core.data.imageset import ImageSet
    from gan_core.train.finetune import load_pretrained
    from gan_core.train.run_folder import RunFolder
    from gan_core.train.trainer import Trainer

    run_dir = Path(spec["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    try:
        data = ImageSet.load_npz(spec["data"])
        model_cfg = ModelConfig.from_dict(spec["model"])
        train_cfg = TrainConfig.from_dict(spec["train"])
        folder = RunFolder(run_dir, command=spec.get("command", ""), data_name=spec.get("data_name", ""),
                           weight_stats=True)
        trainer = Trainer(model_cfg, train_cfg, data, device=spec.get("device", "cpu"), callbacks=[folder], stop=stop)
        trainer.data_source = str(spec["data"])
        if spec.get("resume"):
            trainer.restore(*checkpoint.load_training_state(run_dir))
        elif spec.get("init_from"):
            report = load_pretrained(trainer, spec["init_from"])
            checkpoint.atomic_write_text(run_dir / "transfer.txt", report.to_text())
        for _ in trainer.run():
            pass
        return json.loads((run_dir / "status.json").read_text())["state"]
    except GanStudioError as e:
        _fail(run_dir, str(e))
    except Exception as e:  # a bug: keep the traceback in the folder, show a plain line
        (run_dir / "error.log").write_text(traceback.format_exc())
        _fail(run_dir, f"internal error ({type(e).__name__}: {e}); details in error.log")
    return "error"


def _fail(run_dir: Path, message: str) -> None:
    from gan_core import checkpoint

    status_file = run_dir / "status.json"
    status = json.loads(status_file.read_text()) if status_file.is_file() else {}
    status.update(state="error", message=message)
    checkpoint.atomic_write_text(status_file, json.dumps(status))


STOP_FILE = "STOP"  # created in the run folder to ask a running job to stop after its step


def main(argv: list[str]) -> int:
    """`python -m gan_core.train.job SPEC.json`: run a job in its own process.

    Stop it by creating STOP in its run folder (checked every step, so it ends within one
    step and still saves a final checkpoint). `nice` in the spec lowers its CPU priority.
    """
    import os

    spec = json.loads(Path(argv[0]).read_text())
    if spec.get("nice"):
        try:
            os.nice(int(spec["nice"]))
        except OSError:
            pass
    stop_file = Path(spec["run_dir"]) / STOP_FILE  # whoever starts the job clears a stale one first
    state = run_job(spec, stop=stop_file.exists)
    return 0 if state in ("finished", "stopped") else 1


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
