"""`python -m gan_core toy`: end to end in a subprocess, and its user errors through the dispatcher."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def restore_threads():
    """In-process runs set the CLI's thread count; give the test session its own back."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _toy(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gan_core", "toy", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_toy_cli_prints_modes_covered_and_high_quality_share():
    r = _toy("--dist", "ring8", "--loss", "ns", "--steps", "30", "--seed", "0", "--batch", "64")
    assert r.returncode == 0, r.stderr
    assert "modes covered: " in r.stdout and "/8" in r.stdout
    assert "high quality: " in r.stdout and "% of 2500 samples" in r.stdout


@pytest.mark.slow
def test_toy_cli_json_output_is_seeded_and_writes_the_final_view(tmp_path):
    frame = tmp_path / "view.png"
    args = ("--dist", "grid25", "--loss", "hinge", "--penalty", "r1", "--sn", "--steps", "20", "--seed", "4",
            "--batch", "64", "--width", "32", "--json")
    first = json.loads(_toy(*args, "--frame", str(frame)).stdout)
    second = json.loads(_toy(*args).stdout)
    assert first["num_modes"] == 25 and 0 <= first["modes_covered"] <= 25
    for key in ("modes_covered", "high_quality_pct", "d_loss", "g_loss"):
        assert first[key] == second[key]
    assert np.asarray(Image.open(frame)).shape == (400, 400, 3)


@pytest.mark.slow
def test_toy_cli_trains_on_a_csv_of_user_points(tmp_path):
    csv = tmp_path / "pts.csv"
    csv.write_text("x,y\n0,0\n10,0\n0,10\n")
    r = _toy("--dist", "custom", "--points", str(csv), "--steps", "10", "--batch", "32", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["num_modes"] == 3


def test_toy_cli_reports_that_moons_have_no_modes(capsys):
    assert main(["toy", "--dist", "moons", "--steps", "3", "--batch", "32", "--width", "16"]) == 0
    assert "no discrete modes" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (("--dist", "custom"), "needs points"),
    (("--points", "x.csv"), "only used with --dist custom"),
    (("--lr-d", "-1"), "ToyConfig.lr_d"),
    (("--batch", "1"), "ToyConfig.batch"),
])
def test_toy_cli_user_errors_are_one_line_without_a_traceback(args, message, capsys):
    assert main(["toy", *args, "--steps", "1"]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_toy_cli_bad_csv_names_the_file_and_line(tmp_path, capsys):
    csv = tmp_path / "bad.csv"
    csv.write_text("1,2\n3,four\n")
    assert main(["toy", "--dist", "custom", "--points", str(csv), "--steps", "1"]) == 1
    assert "bad.csv line 2: 'four' is not a number" in capsys.readouterr().err


def test_toy_cli_unwritable_frame_path_is_a_user_error(tmp_path, capsys):
    code = main(["toy", "--steps", "1", "--batch", "32", "--width", "16", "--frame", str(tmp_path / "no" / "v.png")])
    assert code == 1 and "cannot write --frame" in capsys.readouterr().err
