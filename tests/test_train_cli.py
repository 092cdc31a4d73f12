"""`python -m gan_core train` and `sample` end to end, in subprocesses, as a user runs them."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def gan(*args, cwd=None, timeout=300, module="gan_core"):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=timeout)


@pytest.fixture
def class_zip(tmp_path):
    """A real zip of two class folders of PNGs (bright squares vs dark discs), wrapped in one folder."""
    rng = np.random.default_rng(0)
    path = tmp_path / "shapes.zip"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(24):
            cls = ("squares", "discs")[i % 2]
            a = np.full((40, 40, 3), 30, np.uint8)
            if cls == "squares":
                a[8:32, 8:32] = rng.integers(150, 255, 3)
            else:
                yy, xx = np.mgrid[:40, :40]
                a[(yy - 20) ** 2 + (xx - 20) ** 2 < 144] = rng.integers(150, 255, 3)
            buf = io.BytesIO()
            Image.fromarray(a).save(buf, format="PNG")
            z.writestr(f"mydata/{cls}/{i:03d}.png", buf.getvalue())
    return path


@pytest.mark.slow
def test_train_resume_and_sample_end_to_end(tmp_path, class_zip):
    out = tmp_path / "run"
    common = ["--res", "16", "--ngf", "8", "--ndf", "8", "--nz", "8", "--batch-size", "8",
              "--sample-every", "2", "--ckpt-every", "2", "--precision", "fp32"]
    p = gan("train", "--data", class_zip, "--out", out, "--steps", "4", *common)
    assert p.returncode == 0, p.stderr
    assert "done: 4 steps" in p.stdout and "images/s" in p.stdout
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["num_classes"] == 2 and cfg["class_names"] == ["discs", "squares"]
    assert (out / "model.safetensors").is_file() and (out / "training_state.safetensors").is_file()

    p = gan("train", "--resume", out, "--steps", "6")
    assert p.returncode == 0, p.stderr
    assert "done: 6 steps" in p.stdout
    assert json.loads((out / "status.json").read_text())["step"] == 6

    grid = tmp_path / "grid.png"
    p = gan("sample", "--ckpt", out, "--n", "4", "--seed", "0", "--out", grid)
    assert p.returncode == 0, p.stderr
    assert Image.open(grid).size[0] > 16


def test_dry_run_trains_two_steps(tmp_path, class_zip):
    p = gan("train", "--data", class_zip, "--out", tmp_path / "r", "--res", "16", "--ngf", "4", "--ndf", "4",
            "--nz", "4", "--batch-size", "4", "--dry-run", "--precision", "fp32")
    assert p.returncode == 0, p.stderr
    assert "done: 2 steps" in p.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "/no/such/folder"], "/no/such/folder"),
        (["--data", "builtin:digits", "--res", "7"], "res"),
        (["--data", "builtin:digits", "--lr-d", "1e9"], "lr_d"),
        (["--data", "builtin:digits", "--steps", "-5"], "steps"),
        (["--data", "builtin:digits", "--loss", "bogus"], "loss"),
        (["--resume", "/no/such/run"], "/no/such/run"),
        ([], "--data is required"),
    ],
)
def test_bad_arguments_give_one_clear_line_and_no_traceback(tmp_path, args, message):
    p = gan("train", "--out", tmp_path / "r", *args)
    assert p.returncode != 0
    assert message in p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.slow
def test_two_gloo_processes_train_in_sync(tmp_path, class_zip):
    out = tmp_path / "ddp"
    p = gan("--standalone", "--nproc_per_node", "2", "-m", "gan_core", "train", "--data", class_zip, "--out", out,
            "--res", "16", "--ngf", "8", "--ndf", "8", "--nz", "8", "--batch-size", "8", "--steps", "3",
            "--precision", "fp32", "--device", "cpu", module="torch.distributed.run")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "2 ranks agree on G and D weights" in p.stdout
    assert (out / "model.safetensors").is_file()
