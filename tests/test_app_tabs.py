"""The Sample, Interpolate, Video and Models tabs through their public API (gradio_client),
against the real app launched in-process once for the module, with tiny test models."""

from __future__ import annotations

import pickle
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apphelpers import make_checkpoints, running_app
from gan_core.checkpoint import save_generator
from gan_core.config import ModelConfig, RunConfig
from gan_core.models import build_models
from gan_core.video import probe_video

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

UNCOND, COND = "bundled/tiny-uncond", "bundled/tiny-cond"


def checkpoints_with_a_dcgan64(root: Path) -> Path:
    """The two tiny test models plus an (untrained) DCGAN at 64 px, nz 100, for timing."""
    make_checkpoints(root)
    cfg = ModelConfig(res=64, channels=3, nz=100, ngf=64, ndf=64)
    g, _ = build_models(cfg, seed=3)
    save_generator(root / "dcgan64" / "model.safetensors", g, RunConfig(model=cfg, data="untrained"))
    return root


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    with running_app(tmp, checkpoints=checkpoints_with_a_dcgan64(tmp / "checkpoints")) as (url, demo, ctx):
        yield Client(url, verbose=False), ctx


@pytest.fixture
def client_id(app):
    return app[1].workspace.new_client_id()


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def sample(app, cid, model=UNCOND, seed=0, count=4, psi=1.0, klass=None):
    return app[0].predict(cid, model, seed, count, psi, klass, api_name="/sample")


def error_of(call) -> str:
    with pytest.raises(AppError) as e:
        call()
    message = str(e.value)
    assert "Traceback" not in message and 'File "' not in message
    return message


# ---------------------------------------------------------------------------- sample


def test_sample_returns_a_grid_a_gallery_captioned_by_seed_and_downloads(app, client_id):
    grid, gallery, files, status, *_ = sample(app, client_id, seed=10, count=5)
    assert pixels(grid).std() > 0  # a real picture, not a blank
    assert [g["caption"] for g in gallery] == [f"seed {s}" for s in range(10, 15)]
    for g in gallery:
        assert pixels(g["image"]).shape[:2] == (64, 64)  # 16 px enlarged for display
    names = sorted(Path(f).suffix for f in files)
    assert names == [".png", ".zip"]
    with zipfile.ZipFile(next(f for f in files if f.endswith(".zip"))) as zf:
        assert sorted(zf.namelist()) == ["grid.png"] + [f"seed{s:010d}.png" for s in range(10, 15)]
    assert "5 images" in status


def test_sample_is_the_same_for_the_same_seed_and_differs_for_another(app, client_id):
    a = pixels(sample(app, client_id, seed=3)[0])
    b = pixels(sample(app, client_id, seed=3)[0])
    c = pixels(sample(app, client_id, seed=4)[0])
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_sample_class_changes_the_images_of_a_conditional_model(app, client_id):
    red = pixels(sample(app, client_id, COND, seed=1, klass="red")[0])
    blue = pixels(sample(app, client_id, COND, seed=1, klass="blue")[0])
    assert (red != blue).any(axis=2).mean() > 0.3  # most pixels change (the tiny model's output is faint)


def test_sample_refuses_a_class_the_model_does_not_have(app, client_id):
    message = error_of(lambda: sample(app, client_id, COND, klass="purple"))
    assert "purple" in message and "red" in message


def test_sampling_64_images_at_64px_returns_well_under_a_second(app, client_id):
    client = Client(app[0].src, verbose=False, download_files=False)  # time the app, not this test's downloads
    form = (client_id, "bundled/dcgan64", 0, 64, 1.0, None)
    client.predict(*form, api_name="/sample")  # first use loads the model
    times = []
    for seed in range(5):
        t0 = time.perf_counter()
        _, gallery, *_ = client.predict(*form[:2], seed, *form[3:], api_name="/sample")
        times.append(time.perf_counter() - t0)
        assert len(gallery) == 64
    assert sorted(times)[2] < 1.0, f"median {sorted(times)[2]:.2f} s"


# ---------------------------------------------------------------------------- interpolate


def interpolate(app, cid, model=UNCOND, a=None, b=None, seeds="1, 7, 42", steps=4, ease="linear"):
    return app[0].predict(cid, model, a, b, seeds, steps, ease, False, api_name="/interpolate")


def test_interpolate_returns_lerp_and_slerp_strips_one_row_per_segment(app, client_id):
    lerp, slerp, status = interpolate(app, client_id, seeds="1, 7, 42", steps=4)
    lp, sp = pixels(lerp), pixels(slerp)
    # 2 segments x 5 frames, each frame 16 px shown at 64 px with 2 px gaps
    assert lp.shape == sp.shape == (2 * 66 + 2, 5 * 66 + 2, 3)
    assert not np.array_equal(lp, sp)  # the two paths differ between the keyframes
    frame = lambda a, r, c: a[2 + 66 * r : 66 * (r + 1), 2 + 66 * c : 66 * (c + 1)]  # noqa: E731
    assert np.array_equal(frame(lp, 0, 0), frame(sp, 0, 0))  # ... and agree on them
    assert np.array_equal(frame(lp, 1, 4), frame(sp, 1, 4))
    assert "slerp" in status


def test_interpolate_blends_classes_of_a_conditional_model_from_one_seed(app, client_id):
    lerp, _, _ = interpolate(app, client_id, COND, "red", "blue", seeds="5", steps=3)
    strip = pixels(lerp)
    assert strip.shape[0] == 66 + 2  # one row: red -> blue
    assert not np.array_equal(strip[2:66, 2:66], strip[2:66, -66:-2])


def test_interpolate_needs_two_keyframes(app, client_id):
    message = error_of(lambda: interpolate(app, client_id, seeds="5"))
    assert "two seeds" in message


def test_projected_photo_becomes_the_first_keyframe(app, client_id, tmp_path):
    client, ctx = app
    photo = tmp_path / "my photo.png"
    Image.fromarray(np.tile(np.linspace(0, 255, 40, dtype=np.uint8)[None, :, None], (40, 1, 3))).save(photo)
    job = client.submit(client_id, UNCOND, handle_file(str(photo)), api_name="/project_photo")
    side, status, use = job.result()
    assert "my photo.png" in status and use is True
    assert pixels(side).shape[1] > pixels(side).shape[0]  # photo | reconstruction
    lerp, _, status = client.predict(client_id, UNCOND, None, None, "3", 2, "linear", True, api_name="/interpolate")
    assert "1 segment" in status  # the photo and seed 3


# ---------------------------------------------------------------------------- video


def test_render_video_gives_a_browser_playable_h264_mp4_and_a_gif(app, client_id):
    form = (client_id, UNCOND, None, None, "1, 2, 3", False, 2, 12, 64, True, "slerp", "smoothstep", 1.0)
    mp4, status = app[0].predict(*form, api_name="/render_video")
    info = probe_video(mp4)
    assert (info["codec"], info["pix_fmt"]) == ("h264", "yuv420p")
    assert (info["width"], info["height"], info["frames"]) == (64, 64, 24)
    assert "24 frames" in status
    gif = app[0].predict(*form, api_name="/render_gif")
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.size == (64, 64) and im.n_frames > 1


def test_random_loop_video_of_a_conditional_model_blends_its_classes(app, client_id):
    mp4, _ = app[0].predict(
        client_id, COND, "red", "green", "9", True, 1, 12, 32, True, "slerp", "linear", 0.8, api_name="/render_video"
    )
    assert probe_video(mp4)["frames"] == 12


def test_live_mode_streams_frames_into_the_page(app, client_id):
    job = app[0].submit(client_id, UNCOND, None, "4", "slerp", "smoothstep", 1.0, 128, api_name="/live")
    try:
        deadline = time.monotonic() + 20
        while len(job.outputs()) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        frames = job.outputs()
        assert len(frames) >= 5
        assert all("data:image/png;base64," in f for f in frames[:5])
        assert len(set(frames[:5])) > 1  # the walk moves
    finally:
        job.cancel()


# ---------------------------------------------------------------------------- models


def tiny_model_file(path: Path, res: int = 16) -> Path:
    cfg = ModelConfig(res=res, channels=3, nz=8, ngf=8, ndf=8)
    g, _ = build_models(cfg, seed=2)
    return save_generator(path, g, RunConfig(model=cfg, data="uploaded test"))


def test_uploaded_safetensors_model_is_validated_and_becomes_selectable(app, client_id, tmp_path):
    client, ctx = app
    f = tiny_model_file(tmp_path / "my model.safetensors")
    status, key = client.predict(client_id, handle_file(str(f)), api_name="/upload_model")
    assert "my model.safetensors" in status and key.startswith("upload/")
    assert key in [k for _, k in ctx.registry.choices(client_id)]
    assert "my model" not in key  # the folder name is the app's, never the upload's
    grid, gallery, *_ = sample(app, client_id, model=key, count=2)
    assert len(gallery) == 2
    image, card, summary, model_file, hub_zip = client.predict(client_id, key, api_name="/model_card")
    assert "Uploaded model" in card and "16×16 px" in summary
    assert Path(model_file).read_bytes() == f.read_bytes()
    with zipfile.ZipFile(hub_zip) as zf:
        assert {"model.safetensors", "config.json", "README.md"} <= set(zf.namelist())


class WritesMarker:
    """Unpickling this creates a file: proof that a checkpoint was (wrongly) unpickled."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("name", ["evil.pt", "renamed-pickle.safetensors"])
def test_pickle_upload_is_refused_by_name_or_content_and_never_unpickled(app, client_id, tmp_path, name):
    client, ctx = app
    marker = tmp_path / "marker"
    f = tmp_path / name
    f.write_bytes(pickle.dumps({"state_dict": WritesMarker(marker)}, protocol=4))
    message = error_of(lambda: client.predict(client_id, handle_file(str(f)), api_name="/upload_model"))
    assert name in message and "pickle" in message
    assert not marker.exists()
    uploads = ctx.workspace.client_dir(client_id) / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_broken_safetensors_is_refused_with_the_reason(app, client_id, tmp_path):
    f = tiny_model_file(tmp_path / "broken.safetensors")
    data = bytearray(f.read_bytes())
    f.write_bytes(bytes(data[: len(data) // 2]))  # truncated
    message = error_of(lambda: app[0].predict(client_id, handle_file(str(f)), api_name="/upload_model"))
    assert "broken.safetensors" in message and "refused" in message


def test_uploaded_file_names_are_shown_escaped(app, client_id, tmp_path):
    f = tmp_path / "[click](evil.example) & 'me'.pt"  # gradio itself strips <>:"`$ from upload names
    f.write_bytes(b"\x80\x04K\x01.")
    message = error_of(lambda: app[0].predict(client_id, handle_file(str(f)), api_name="/upload_model"))
    assert "[click]" not in message and "&#91;click&#93;(evil.example) &amp; &#x27;me&#x27;.pt" in message


def test_bundled_model_card_shows_its_text_and_summary(app, client_id):
    image, card, summary, model_file, hub_zip = app[0].predict(client_id, COND, api_name="/model_card")
    assert "tiny-cond" in card and "3 classes" in summary and "red, green, blue" in summary
    assert Path(model_file).name == "model.safetensors"


# ---------------------------------------------------------------------------- bad form values


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda c, cid: c.predict(cid, UNCOND, -1, 4, 1.0, None, api_name="/sample"), ["Seed", "-1"]),
        (lambda c, cid: c.predict(cid, UNCOND, 0, 0, 1.0, None, api_name="/sample"), ["0"]),
        (lambda c, cid: c.predict(cid, UNCOND, 0, 4, 9.0, None, api_name="/sample"), ["9"]),
        (lambda c, cid: c.predict(cid, "bundled/nope", 0, 4, 1.0, None, api_name="/sample"), ["nope"]),
        (lambda c, cid: c.predict(cid, UNCOND, None, None, "1, x", 4, "linear", False, api_name="/interpolate"),
         ["x"]),
        (lambda c, cid: c.predict(cid, UNCOND, None, None, "1, 2", False, 2, 1000, 64, True, "slerp", "linear", 1.0,
                                  api_name="/render_video"), ["Frames per second", "1000", "60"]),
        (lambda c, cid: c.predict(cid, UNCOND, None, None, "1, 2", False, 2, 12, 7, True, "slerp", "linear", 1.0,
                                  api_name="/render_video"), ["Size", "7", "16"]),
        (lambda c, cid: c.predict(cid, UNCOND, None, None, "1, 2", False, 2, 12, "big", True, "slerp", "linear", 1.0,
                                  api_name="/render_video"), ["Size", "big"]),
        (lambda c, cid: c.predict("not-a-client", UNCOND, 0, 4, 1.0, None, api_name="/sample"), ["reload"]),
    ],
    ids=["seed-1", "count0", "psi9", "unknown-model", "bad-seeds", "fps1000", "size7", "size-text",
         "no-session"],
)  # fmt: skip
def test_bad_form_values_give_a_clear_message_and_no_traceback(app, client_id, call, expected):
    message = error_of(lambda: call(app[0], client_id))
    for word in expected:
        assert word in message
