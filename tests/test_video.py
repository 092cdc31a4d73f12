"""Rendering: resizing, MP4 (read back with ffmpeg), GIF, contact sheets, timelapses, failures."""

from __future__ import annotations

import signal
import struct
import weakref
from pathlib import Path

import numpy as np
import psutil
import pytest
import torch
from PIL import Image

from gan_core import device, latent, video
from gan_core.config import ModelConfig
from gan_core.models import build_models


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def G():
    """A 16 px G with calibrated batch norm, so frames differ (see test_latent.tiny_generator)."""
    g, _ = build_models(ModelConfig(res=16, nz=8, ngf=8, ndf=8), 0)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
        g.train()
        for _ in range(4):
            g(torch.randn(64, 8, generator=gen))
        g.to_img.weight.mul_(20.0)
    return g.eval()


def gradient_frames(n: int, h: int = 16, w: int = 16) -> list[np.ndarray]:
    """n distinct frames: a moving colour ramp."""
    yy, xx = np.mgrid[0:h, 0:w]
    return [np.stack([(xx * 16 + 9 * i) % 256, (yy * 16) % 256, np.full_like(xx, 7 * i % 256)], -1).astype(np.uint8)
            for i in range(n)]  # fmt: skip


def ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "ffmpeg" in p.name()]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------- sizes


def test_nearest_upscale_by_an_integer_factor_repeats_pixels():
    f = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    big = video.resize_frames(f, (16, 16))
    assert np.array_equal(big, f.repeat(4, axis=1).repeat(4, axis=2))


def test_resize_handles_gray_rgba_and_non_integer_factors():
    gray = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1)
    out = video.resize_frames(gray, (6, 10))
    assert out.shape == (1, 6, 10, 3) and np.array_equal(out[..., 0], out[..., 2])
    rgba = np.zeros((1, 8, 8, 4), np.uint8)
    assert video.resize_frames(rgba, (8, 8), "bilinear").shape == (1, 8, 8, 3)
    assert video.resize_frames(rgba, (20, 20), "lanczos").shape == (1, 20, 20, 3)
    with pytest.raises(video.VideoError, match="nearest"):
        video.resize_frames(rgba, (20, 20), "sinc")


def test_output_sizes_are_even_and_keep_the_aspect_ratio():
    assert video.output_size(16, 16, 255) == (256, 256)
    assert video.output_size(15, 17, None) == (16, 18)
    assert video.output_size(100, 200, 256) == (128, 256)
    assert video.output_size(64, 64, (31, 41)) == (42, 32)
    with pytest.raises(video.VideoError, match="larger"):
        video.output_size(64, 64, 10_000)


# ---------------------------------------------------------------------------- MP4


def _top_level_boxes(path: Path) -> list[str]:
    """The names of an MP4's top-level boxes, in file order."""
    data, names, i = path.read_bytes(), [], 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        names.append(kind.decode("latin-1"))
        if size == 1:
            size = struct.unpack(">Q", data[i + 8 : i + 16])[0]
        if size < 8:
            break
        i += size
    return names


def test_mp4_is_h264_yuv420p_with_the_frame_count_and_duration_asked_for(tmp_path):
    out = tmp_path / "walk.mp4"
    info = video.write_mp4(iter(gradient_frames(45)), out, fps=30, size=64)
    probe = video.probe_video(out)
    assert probe["codec"] == "h264" and probe["pix_fmt"] == "yuv420p"
    assert (probe["width"], probe["height"]) == (64, 64)
    assert probe["frames"] == 45 == info.frames
    assert probe["seconds"] == pytest.approx(1.5, abs=0.04)
    boxes = _top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart: the index comes first
    assert leftovers(tmp_path) == ["walk.mp4"]


def test_mp4_of_odd_sized_frames_is_written_at_an_even_size(tmp_path):
    info = video.write_mp4(gradient_frames(5, 15, 21), tmp_path / "odd.mp4", fps=10)
    probe = video.probe_video(info.path)
    assert (probe["width"], probe["height"]) == (22, 16) and probe["frames"] == 5


def test_mp4_upscales_with_a_chosen_filter_and_refuses_frames_that_change_size(tmp_path):
    info = video.write_mp4(gradient_frames(4), tmp_path / "b.mp4", fps=10, size=40, filter="bilinear")
    assert (video.probe_video(info.path)["width"], info.width) == (40, 40)

    def mixed():
        yield from gradient_frames(2)
        yield gradient_frames(1, 8, 8)[0]

    with pytest.raises(video.VideoError, match="frame 2 is 8x8 px"):
        video.write_mp4(mixed(), tmp_path / "m.mp4", fps=10)
    assert leftovers(tmp_path) == ["b.mp4"] and ffmpeg_children() == []


def test_mp4_streams_frames_without_keeping_them(tmp_path):
    alive: list[weakref.ref] = []
    most_alive = 0

    def frames():
        nonlocal most_alive
        for i in range(40):
            f = gradient_frames(1)[0] + np.uint8(i)  # made on demand, like rendered frames
            most_alive = max(most_alive, sum(r() is not None for r in alive))
            alive.append(weakref.ref(f))
            yield f
            del f

    video.write_mp4(frames(), tmp_path / "s.mp4", fps=20)
    assert most_alive <= 2  # the one being written and at most one more, never the video


def test_a_frame_source_that_raises_leaves_no_file_and_no_ffmpeg(tmp_path):
    out = tmp_path / "broken.mp4"

    def frames():
        yield from gradient_frames(10)
        raise RuntimeError("generator failed midway")

    with pytest.raises(RuntimeError, match="midway"):
        video.write_mp4(frames(), out, fps=10)
    assert leftovers(tmp_path) == []
    assert ffmpeg_children() == []


def test_a_failed_encode_keeps_the_previous_file_untouched(tmp_path):
    out = tmp_path / "walk.mp4"
    out.write_bytes(b"previous video")

    def frames():
        yield from gradient_frames(3)
        raise ValueError("stop")

    with pytest.raises(ValueError):
        video.write_mp4(frames(), out, fps=10)
    assert out.read_bytes() == b"previous video" and leftovers(tmp_path) == ["walk.mp4"]


def _kill_ffmpeg_and_wait_until_dead() -> None:
    (proc,) = ffmpeg_children()
    proc.send_signal(signal.SIGKILL)
    # wait without reaping (the writer must reap it): poll until the kernel marks it a zombie
    for _ in range(500):
        if proc.status() == psutil.STATUS_ZOMBIE:
            return
        psutil.wait_procs([], timeout=0.01)
    raise AssertionError("ffmpeg did not die")


@pytest.mark.parametrize("when", ["midway", "after the last frame"])
def test_killed_ffmpeg_leaves_no_partial_file_and_no_zombie(tmp_path, when):
    out = tmp_path / "killed.mp4"
    frames = gradient_frames(30, 64, 64)

    def source():
        for i, f in enumerate(frames):
            if when == "midway" and i == 10:
                _kill_ffmpeg_and_wait_until_dead()
            yield f
        if when == "after the last frame":
            _kill_ffmpeg_and_wait_until_dead()

    with pytest.raises(video.VideoError, match="ffmpeg"):
        video.write_mp4(source(), out, fps=10)
    assert leftovers(tmp_path) == []
    assert ffmpeg_children() == []  # killed and reaped: not even a zombie


def test_an_unwritable_destination_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(video.VideoError, match="cannot create the folder"):
        video.write_mp4(gradient_frames(2), tmp_path / "afile" / "w.mp4")
    assert leftovers(tmp_path) == ["afile"] and ffmpeg_children() == []


def test_mp4_refuses_other_extensions_and_empty_sources(tmp_path):
    with pytest.raises(video.VideoError, match=".mp4"):
        video.write_mp4(gradient_frames(2), tmp_path / "x.avi")
    with pytest.raises(video.VideoError, match="no frames"):
        video.write_mp4(iter([]), tmp_path / "x.mp4")
    with pytest.raises(video.VideoError, match="fps"):
        video.write_mp4(gradient_frames(2), tmp_path / "x.mp4", fps=0)
    assert leftovers(tmp_path) == [] and ffmpeg_children() == []


def test_cores_are_split_between_the_generator_and_the_encoder():
    assert device.split_cores(1) == (1, 1)
    assert device.split_cores(2) == (1, 1)
    assert device.split_cores(16) == (8, 8)
    before = torch.get_num_threads()
    other = 3 if before != 3 else 2
    with device.torch_threads(other):
        assert torch.get_num_threads() == other
    assert torch.get_num_threads() == before


# ---------------------------------------------------------------------------- walks to files


def test_rendered_walk_frames_are_upscaled_lazily_and_the_loop_closes(G):
    n = 10
    z = latent.keyframe_loop(latent.seed_latents([1, 2], 8), torch.arange(n + 1, dtype=torch.float64) / n)
    frames = video.render_walk_frames(G, z, size=64, batch_size=4, precision="fp32")
    first = next(frames)
    assert first.shape == (64, 64, 3) and first.dtype == np.uint8
    rest = list(frames)
    assert len(rest) == n and np.array_equal(rest[-1], first)  # frame n is frame 0 again


def test_walk_to_mp4_end_to_end(G, tmp_path):
    z = latent.keyframe_loop(latent.seed_latents([1, 2, 3], 8), latent.loop_positions(24), ease="smoothstep")
    info = video.write_mp4(video.render_walk_frames(G, z, size=48), tmp_path / "w.mp4", fps=12)
    probe = video.probe_video(info.path)
    assert (probe["frames"], probe["width"], probe["seconds"]) == (24, 48, pytest.approx(2.0, abs=0.1))


def test_live_frames_stream_an_endless_walk_through_consecutive_seeds(G):
    stream = video.live_frames(G, seed=5, size=32, frames_per_key=4, batch_size=3, precision="fp32")
    frames = [next(stream) for _ in range(10)]
    stream.close()
    expected = latent.generate(G, latent.seed_latents([5, 6, 7], 8), precision="fp32")
    small = [f[::2, ::2] for f in frames]  # undo the nearest x2 upscale
    assert frames[0].shape == (32, 32, 3)
    for k in range(3):
        assert np.abs(small[4 * k].astype(int) - expected[k].astype(int)).max() <= 1
    assert not np.array_equal(frames[1], frames[0])


# ---------------------------------------------------------------------------- GIF, PNG, sheets


def test_gif_has_one_frame_per_distinct_frame_and_the_fps_delay(tmp_path):
    info = video.write_gif(iter(gradient_frames(12)), tmp_path / "w.gif", fps=20, size=32)
    with Image.open(info.path) as im:
        assert im.n_frames == 12 == info.frames
        assert im.size == (32, 32)
        assert im.info["duration"] == 50
        assert im.info.get("loop") == 0
    assert leftovers(tmp_path) == ["w.gif"]


def test_a_failed_gif_leaves_nothing(tmp_path):
    def frames():
        yield from gradient_frames(3)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        video.write_gif(frames(), tmp_path / "w.gif", fps=10)
    assert leftovers(tmp_path) == []


def test_contact_sheet_places_frames_row_by_row_with_padding():
    frames = [np.full((4, 6, 3), i * 40, np.uint8) for i in range(5)]
    sheet = video.contact_sheet(frames, cols=3, pad=1, pad_value=255)
    assert sheet.shape == (2 * 5 + 1, 3 * 7 + 1, 3)
    assert (sheet[1:5, 1:7] == 0).all() and (sheet[1:5, 8:14] == 40).all()
    assert (sheet[6:10, 8:14] == 160).all()  # frame 4: second row, second column
    assert (sheet[6:10, 15:21] == 255).all()  # no sixth frame: padding
    assert (sheet[0] == 255).all()


def test_png_round_trips_and_is_written_atomically(tmp_path):
    img = gradient_frames(1)[0]
    path = video.write_png(img, tmp_path / "a.png")
    assert np.array_equal(np.asarray(Image.open(path)), img)
    gray = img[:, :, :1]
    assert np.asarray(Image.open(video.write_png(gray, tmp_path / "g.png"))).shape == (16, 16)
    assert leftovers(tmp_path) == ["a.png", "g.png"]


# ---------------------------------------------------------------------------- timelapse


def _fake_run(tmp_path: Path, steps: list[int]) -> Path:
    run = tmp_path / "run"
    for i, step in enumerate(steps):
        grid = np.full((34, 34, 3), (i * 50) % 256, np.uint8)
        video.write_png(grid, run / "samples" / f"grid_{step:07d}.png")
    (run / "samples" / "notes.txt").write_text("not a grid")
    return run


def test_timelapse_orders_grids_by_step(tmp_path):
    run = _fake_run(tmp_path, [1000, 200, 400])
    assert [s for s, _ in video.grid_files(run)] == [200, 400, 1000]
    frames = list(video.timelapse_frames(run, label=False))
    assert [int(f[0, 0, 0]) for f in frames] == [50, 100, 0]


@pytest.mark.parametrize("ext", [".mp4", ".gif"])
def test_timelapse_writes_one_frame_per_grid_plus_the_held_last_one(tmp_path, ext):
    run = _fake_run(tmp_path, [200, 400, 600, 800])
    info = video.timelapse(run, tmp_path / f"t{ext}", fps=4, hold_last_s=0.5)
    assert info.frames == 4 + 2
    if ext == ".mp4":
        probe = video.probe_video(info.path)
        assert probe["codec"] == "h264" and probe["frames"] == 6
        assert probe["height"] % 2 == 0 and probe["height"] > 34  # the caption band is below the grid
    else:
        with Image.open(info.path) as im:
            assert im.n_frames == 4  # the held copies of the last grid merge into one longer frame
            im.seek(3)
            assert im.info["duration"] == 3 * 250


def test_timelapse_frames_have_even_sides_without_resampling(tmp_path):
    run = tmp_path / "run"
    video.write_png(np.full((35, 33, 3), 77, np.uint8), run / "samples" / "grid_0000100.png")
    (frame,) = video.timelapse_frames(run, label=False)
    assert frame.shape == (36, 34, 3)
    assert (frame[:35, :33] == 77).all() and (frame[35] == 0).all()  # padded, not resized


def test_timelapse_of_a_run_without_grids_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(video.VideoError, match="no samples/grid"):
        video.timelapse(tmp_path / "empty", tmp_path / "t.mp4")
    assert leftovers(tmp_path) == ["empty"]
