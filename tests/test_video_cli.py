"""`python -m gan_core sample | video | timelapse | project`, end to end in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from gan_core.checkpoint import save_generator, save_run_config, save_training_state
from gan_core.config import ModelConfig, RunConfig
from gan_core.models import build_models
from gan_core.video import probe_video, write_png

ROOT = Path(__file__).resolve().parents[1]


def tiny_run(folder: Path, num_classes: int = 0, class_names: list[str] | None = None) -> Path:
    """A run folder with a 16 px G (calibrated batch norm, so images vary), config and D state."""
    cfg = ModelConfig(res=16, nz=8, ngf=8, ndf=8, num_classes=num_classes)
    G, D = build_models(cfg, 0)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
        G.train()
        for _ in range(4):
            G(torch.randn(32, 8, generator=gen), torch.randint(0, num_classes, (32,)) if num_classes else None)
        G.to_img.weight.mul_(20.0)
    run_cfg = RunConfig(model=cfg, class_names=class_names or [])
    save_generator(folder / "model.safetensors", G.eval(), run_cfg)
    save_run_config(folder, run_cfg)
    save_training_state(folder / "training_state.safetensors",
                        {f"D.{k}": v for k, v in D.state_dict().items()}, {"step": 0})  # fmt: skip
    return folder


pytestmark = pytest.mark.usefixtures("one_thread")


def gan_core(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "gan_core", *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip


def gan_core_here(*args, cwd: Path, capsys, monkeypatch) -> subprocess.CompletedProcess:
    """The same command in this process (cli.main): the error paths, without a Python start each."""
    from gan_core.cli import main

    monkeypatch.chdir(cwd)
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out.out, out.err)


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def cond_run(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("cond"), num_classes=3, class_names=["cats", "dogs", "owls"])


# ---------------------------------------------------------------------------- sample


@pytest.mark.slow
def test_sample_writes_a_grid_of_n_seeded_images(run_dir, tmp_path):
    proc = gan_core("sample", "--ckpt", run_dir, "--n", 6, "--seed", 3, "--cols", 3, "--out", "g.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    grid = np.asarray(Image.open(tmp_path / "g.png"))
    assert grid.shape == (2 * 18 + 2, 3 * 18 + 2, 3)


def test_sample_takes_a_class_by_name_and_refuses_an_unknown_one(cond_run, tmp_path, capsys, monkeypatch):
    ok = gan_core_here("sample", "--ckpt", cond_run / "model.safetensors", "--n", 4, "--class", "dogs",
                       "--truncation", 0.7, "--scale", 2, "--out", "g.png", cwd=tmp_path, capsys=capsys, monkeypatch=monkeypatch)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert Image.open(tmp_path / "g.png").size == (2 * (32 + 2) + 2,) * 2  # 2x2 grid of 32 px images
    bad = gan_core_here("sample", "--ckpt", cond_run, "--class", "bird", "--out", "g2.png",
                        cwd=tmp_path, capsys=capsys, monkeypatch=monkeypatch)  # fmt: skip
    assert_one_line_error(bad, "bird", "cats")
    assert not (tmp_path / "g2.png").exists()


# ---------------------------------------------------------------------------- video


@pytest.mark.slow
def test_video_writes_a_browser_playable_mp4_and_a_gif(run_dir, tmp_path):
    proc = gan_core("video", "--ckpt", run_dir, "--seeds", "1,2,3", "--seconds", 2, "--fps", 15,
                    "--size", 64, "--out", "walk.mp4", "--gif", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    probe = probe_video(tmp_path / "walk.mp4")
    assert (probe["codec"], probe["pix_fmt"], probe["width"], probe["frames"]) == ("h264", "yuv420p", 64, 30)
    assert probe["seconds"] == pytest.approx(2.0, abs=0.1)
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 30 and gif.size == (64, 64)
    assert "real time" in proc.stdout


def test_video_random_loop_and_class_blends_of_a_conditional_model(cond_run, tmp_path, capsys, monkeypatch):
    here = dict(cwd=tmp_path, capsys=capsys, monkeypatch=monkeypatch)
    loop = gan_core_here("video", "--ckpt", cond_run, "--seeds", 7, "--seconds", 1, "--fps", 10, "--size", 32,
                         "--random-loop", "--truncation", 0.8, "--class", "owls", "--out", "loop.mp4", **here)  # fmt: skip
    assert loop.returncode == 0, loop.stderr
    assert probe_video(tmp_path / "loop.mp4")["frames"] == 10
    blend = gan_core_here("video", "--ckpt", cond_run, "--seeds", "1,2", "--class", "cats,owls", "--interp", "lerp",
                          "--ease", "cosine", "--seconds", 1, "--fps", 8, "--size", 32, "--out", "b.gif", **here)  # fmt: skip
    assert blend.returncode == 0, blend.stderr
    with Image.open(tmp_path / "b.gif") as gif:
        assert gif.n_frames == 8
    wrong = gan_core_here("video", "--ckpt", cond_run, "--seeds", "1,2,3", "--class", "cats,owls", "--out", "c.mp4", **here)
    assert_one_line_error(wrong, "2 classes for 3 seeds")


@pytest.mark.parametrize(
    "args, words",
    [
        (["--seconds", "0"], ["--seconds"]),
        (["--out", "walk.avi"], [".mp4"]),
        (["--seeds", "1,x"], ["seeds", "'x'"]),
        (["--size", "4"], ["--size"]),
        (["--class", "0"], ["unconditional"]),
        (["--ckpt", "nope"], ["nope"]),
    ],
)
def test_video_bad_arguments_are_one_line_errors(run_dir, tmp_path, capsys, monkeypatch, args, words):
    base = ["video", "--ckpt", run_dir, "--seconds", "1", "--fps", "5", "--size", "32", "--out", "w.mp4"]
    proc = gan_core_here(*base, *args, cwd=tmp_path, capsys=capsys, monkeypatch=monkeypatch)
    assert_one_line_error(proc, *words)
    assert list(tmp_path.iterdir()) == []


def test_video_from_a_pickled_checkpoint_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "model.pt").write_bytes(b"\x80\x04K\x01.")
    proc = gan_core_here("video", "--ckpt", "model.pt", cwd=tmp_path, capsys=capsys, monkeypatch=monkeypatch)
    assert_one_line_error(proc, "pickle")


# ---------------------------------------------------------------------------- timelapse


@pytest.mark.slow
def test_timelapse_of_a_run_folder(tmp_path):
    run = tmp_path / "run"
    for i, step in enumerate([200, 400, 600]):
        write_png(np.full((20, 20, 3), i * 80, np.uint8), run / "samples" / f"grid_{step:07d}.png")
    proc = gan_core("timelapse", "--run", run, "--out", "t.mp4", "--fps", 3, "--hold", 1, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert probe_video(tmp_path / "t.mp4")["frames"] == 6


def test_timelapse_errors_are_one_line(tmp_path, capsys, monkeypatch):
    here = dict(cwd=tmp_path, capsys=capsys, monkeypatch=monkeypatch)
    assert_one_line_error(gan_core_here("timelapse", "--run", "none", "--out", "t.mp4", **here), "no such folder")
    (tmp_path / "run").mkdir()
    assert_one_line_error(gan_core_here("timelapse", "--run", "run", "--out", "t.mp4", **here), "no samples/grid")
    assert_one_line_error(gan_core_here("timelapse", "--run", "run", "--out", "t.webm", **here), ".mp4 or .gif")


# ---------------------------------------------------------------------------- project


@pytest.mark.slow
def test_project_writes_the_latent_the_reconstruction_and_a_side_by_side(run_dir, tmp_path):
    from gan_core import latent
    from gan_core.checkpoint import load_generator

    G = load_generator(run_dir).generator
    target = latent.generate(G, latent.seed_latent(42, 8)[None], precision="fp32")[0]
    Image.fromarray(target).save(tmp_path / "photo.png")
    proc = gan_core("project", "--ckpt", run_dir, "--image", "photo.png", "--out", "proj",
                    "--steps", 100, "--restarts", 4, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert '"discriminator": true' in proc.stdout  # the run folder's D was used
    out = tmp_path / "proj"
    z = load_file(out / "latent.safetensors")["z"]
    assert z.shape == (8,) and np.array_equal(np.load(out / "latent.npy"), z.numpy())
    recon = np.asarray(Image.open(out / "reconstruction.png"))
    assert recon.shape == (16, 16, 3)
    assert np.abs(recon.astype(int) - target.astype(int)).mean() < 3
    assert Image.open(out / "side_by_side.png").size[0] > 2 * 256


def test_project_optimises_the_class_of_a_conditional_model_from_a_jpeg(cond_run, tmp_path, capsys, monkeypatch):
    Image.fromarray(np.full((40, 30, 3), 120, np.uint8)).save(tmp_path / "p.jpg")
    proc = gan_core_here("project", "--ckpt", cond_run, "--image", "p.jpg", "--out", "o", "--steps", 20,
                         "--restarts", 2, "--no-d", cwd=tmp_path, capsys=capsys, monkeypatch=monkeypatch)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    y = load_file(tmp_path / "o" / "latent.safetensors")["y"]
    assert y.shape == (3,) and float(y.sum()) == pytest.approx(1.0, abs=1e-5)
    assert '"class": "' in proc.stdout and '"discriminator": false' in proc.stdout


def test_project_refuses_a_file_that_is_not_an_allowed_image(run_dir, tmp_path, capsys, monkeypatch):
    here = dict(cwd=tmp_path, capsys=capsys, monkeypatch=monkeypatch)
    (tmp_path / "photo.jpg").write_bytes(b"%PDF-1.4 not a photo")
    assert_one_line_error(gan_core_here("project", "--ckpt", run_dir, "--image", "photo.jpg", "--out", "o", **here),
                          "photo.jpg", "PDF")  # fmt: skip
    assert_one_line_error(gan_core_here("project", "--ckpt", run_dir, "--image", "missing.png", "--out", "o", **here),
                          "no such file")  # fmt: skip
    assert not (tmp_path / "o").exists()
