"""The Train tab through gradio_client against the real app: upload, train live, stop, queue, resume."""

from __future__ import annotations

import io
import statistics
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from apphelpers import running_app, wait_until

pytestmark = pytest.mark.slow

A, B = "a" * 32, "b" * 32  # two browsers (client ids live in each browser's localStorage)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app")) as (url, demo, ctx):
        yield url, ctx


def class_zip(path: Path, n: int = 24) -> Path:
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as z:
        for i in range(n):
            cls = ("bright", "dark")[i % 2]
            a = rng.integers(150, 255, (40, 40, 3)) if cls == "bright" else rng.integers(0, 100, (40, 40, 3))
            buf = io.BytesIO()
            Image.fromarray(a.astype(np.uint8)).save(buf, format="PNG")
            z.writestr(f"set/{cls}/{i:03d}.png", buf.getvalue())
    return path


def start_args(client: Client, client_id: str, **values):
    """Arguments of /start_training by field name (the label key after "train.")."""
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/start_training"]["parameters"]
    out = []
    for p in params:
        label = p.get("label")
        key = label.get("key") if isinstance(label, dict) else None
        if key is None:  # the client id (a BrowserState)
            out.append(client_id)
        else:
            name = key.split(".", 1)[1]
            out.append(values.get(name, p.get("parameter_default")))
    return out


def status(client: Client, client_id: str) -> str:
    return client.predict(client_id, None, api_name="/train_status")[1]


def wait_for(client: Client, client_id: str, words: tuple[str, ...], timeout: float = 180) -> str:
    seen = [""]

    def shown() -> bool:
        seen[0] = status(client, client_id)
        return any(w in seen[0] for w in words)

    assert wait_until(shown, timeout, interval=1.0), f"status never showed {words}; last: {seen[0]!r}"
    return seen[0]


def test_download_and_timelapse_before_any_run_say_to_train_first(app):
    c = Client(app[0], verbose=False)
    for api in ("/download_model", "/timelapse"):
        with pytest.raises(Exception, match="no run yet: check your data and start training first"):
            c.predict("c" * 32, api_name=api)


def test_upload_train_watch_and_finish(app, tmp_path):
    url, ctx = app
    c = Client(url, verbose=False)
    report, preview = c.predict(A, [handle_file(class_zip(tmp_path / "set.zip"))], "", "crop",
                                       "train.preset.quick", api_name="/check_data")
    assert "images used: 24" in report and "bright: 12" in report and "dark: 12" in report
    c.predict(*start_args(c, A, steps=30, minutes=5), api_name="/start_training")
    text = wait_for(c, A, ("Training: step",))
    assert "of 30" in text and "images/s" in text  # streamed progress
    out = c.predict(A, None, api_name="/train_status")
    assert out[3] is not None  # the fixed-z grid is shown while training
    text = wait_for(c, A, ("Finished",))
    assert "30 steps" in text
    out = c.predict(A, None, api_name="/train_status")
    assert out[4]["data"] and out[5]["data"] and out[6]["data"]  # losses, D(x)/D(G(z)), gradient norms
    assert "Run summary" in out[2]
    files = c.predict(A, api_name="/download_model")
    names = sorted(Path(f).name for f in files)
    assert any(n.endswith(".zip") for n in names) and any(n.endswith(".safetensors") for n in names)
    with zipfile.ZipFile(next(f for f in files if f.endswith(".zip"))) as z:
        listed = z.namelist()
    assert any(n.endswith("/model.safetensors") for n in listed) and any(n.endswith("/config.json") for n in listed)
    # the trained model is now selectable by this browser (and only this one)
    assert any(k.startswith("run/") for _, k in ctx.registry.choices(A))
    assert not any(k.startswith("run/") for _, k in ctx.registry.choices(B))


def test_stop_ends_a_run_within_seconds_and_resume_continues(app, tmp_path):
    url, ctx = app
    c = Client(url, verbose=False)
    client = "c" * 32
    c.predict(client, None, "digits", "crop", "train.preset.quick", api_name="/check_data")
    c.predict(*start_args(c, client, steps=100000, minutes=5), api_name="/start_training")
    wait_for(c, client, ("Training: step",))
    t0 = time.time()
    c.predict(client, api_name="/stop_training")
    text = wait_for(c, client, ("Stopped at step",), timeout=60)
    assert time.time() - t0 < 30, "Stop took too long"
    run_dir = Path(ctx.jobs.status(client)["run_dir"])
    assert (run_dir / "model.safetensors").is_file() and (run_dir / "training_state.safetensors").is_file()
    stopped_at = int(text.split("Stopped at step ")[1].split()[0])

    # a reloaded page (a new connection, same browser id) finds the run again
    assert "Stopped at step" in status(Client(url, verbose=False), client)

    c.predict(client, 5, api_name="/resume_training")
    def past_the_stop() -> bool:  # the resumed run trains past where it stopped
        text = status(c, client)
        return text.startswith("Training: step") and int(text.split("step ")[1].split()[0]) > stopped_at

    wait_until(past_the_stop, 120, interval=1.0)
    c.predict(client, api_name="/stop_training")
    text = wait_for(c, client, ("Stopped at step",), timeout=60)
    assert int(text.split("Stopped at step ")[1].split()[0]) > stopped_at


def test_second_browser_queues_while_the_slot_is_busy_and_sampling_stays_fast(app, tmp_path):
    url, ctx = app
    first, second = Client(url, verbose=False), Client(url, verbose=False)
    ids = ("d" * 32, "e" * 32)
    for cl, cid in zip((first, second), ids):
        cl.predict(cid, None, "digits", "crop", "train.preset.quick", api_name="/check_data")
    first.predict(*start_args(first, ids[0], steps=100000, minutes=5), api_name="/start_training")
    wait_for(first, ids[0], ("Training: step",))

    # one run per browser
    with pytest.raises(Exception, match="already have a run"):
        first.predict(*start_args(first, ids[0], steps=10), api_name="/start_training")
    # another browser waits in the queue and sees its position
    second.predict(*start_args(second, ids[1], steps=10), api_name="/start_training")
    assert "position 1" in status(second, ids[1])

    # sampling stays interactive while the run trains
    key = ctx.registry.default_key()
    times = []
    for seed in range(8):
        t0 = time.perf_counter()
        second.predict(ids[1], key, seed, 8, 1.0, None, api_name="/sample")
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 1.0, times

    first.predict(ids[0], api_name="/stop_training")
    wait_for(first, ids[0], ("Stopped at step",), timeout=60)
    wait_for(second, ids[1], ("Training: step", "Finished"), timeout=120)
    second.predict(ids[1], api_name="/stop_training")
    wait_for(second, ids[1], ("Stopped", "Finished"), timeout=60)


def test_a_junk_upload_is_refused_with_a_clear_message(app, tmp_path):
    url, _ = app
    c = Client(url, verbose=False)
    junk = tmp_path / "junk.zip"
    with zipfile.ZipFile(junk, "w") as z:
        z.writestr("__MACOSX/._a.png", b"x")
        z.writestr("notes.txt", b"hello")
        z.writestr("fake.png", b"not an image at all")
    report, preview = c.predict("f" * 32, [handle_file(junk)], "", "crop", "train.preset.quick",
                                       api_name="/check_data")
    assert "cannot be used" in report and "fake.png" in report
    assert "Traceback" not in report


@pytest.mark.parametrize("field, value, words", [("steps", -5, "Steps: -5 must be from 1 to 10000000."),
                                                 ("lr_d", 1e9, "Learning rate D: 1000000000.0 must be from"),
                                                 ("batch_size", 0, "Batch size: 0 must be from")])
def test_out_of_range_form_values_get_a_clear_message(app, field, value, words):
    url, _ = app
    c = Client(url, verbose=False)
    cid = "9" * 32
    c.predict(cid, None, "digits", "crop", "train.preset.quick", api_name="/check_data")
    with pytest.raises(Exception) as e:
        c.predict(*start_args(c, cid, **{field: value}), api_name="/start_training")
    assert words in str(e.value) and "Traceback" not in str(e.value)
    assert "TrainConfig" not in str(e.value)  # the form's label, not the dataclass field
