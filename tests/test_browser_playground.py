"""The Playground tab in Debian's chromium (Playwright): play, frames change, pause, switch the loss.

The tab is mounted alone in a tiny Blocks with gr.I18n built from its STRINGS, as app.py
mounts it among the others. Never downloads a browser: chromium must be on PATH.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from apphelpers import free_port, launch_chromium, wait_until
from test_browser_tabs import SHOTS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = SHOTS / "playground.png"


@pytest.fixture(scope="module")
def app_url():
    import gradio as gr

    from ui import playground
    from ui.context import AppContext

    i18n = gr.I18n(**playground.STRINGS)
    with gr.Blocks() as demo:
        with gr.Tab(i18n("playground.title")):
            playground.build(AppContext(t=i18n))
    port = free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, i18n=i18n,
                        quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as b:
        yield b


def _step(page, run: str = "a") -> int:
    return int(page.input_value(f"#pg-step-{run} textarea") or 0)


def _wait_for(predicate, timeout: float, what: str) -> None:
    assert wait_until(predicate, timeout), f"timed out after {timeout:.0f} s waiting for {what}"


def _view(page, run: str = "a") -> bytes:
    return page.locator(f"#pg-view-{run} img").screenshot()


def test_play_shows_changing_frames_pause_stops_them_and_the_loss_switches_live(app_url, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    page.goto(app_url)
    page.wait_for_selector("#pg-view-a img", timeout=60_000)
    assert _step(page) == 0

    # Play: the step counter climbs and the picture changes between two moments
    page.click("#pg-play")
    _wait_for(lambda: _step(page) > 0, 60, "the first frame after Play")
    first = _view(page)
    seen = _step(page)
    _wait_for(lambda: _step(page) >= seen + 10, 60, "more training steps")
    assert _view(page) != first

    # Pause: once the last tick has landed, nothing moves any more
    page.click("#pg-pause")
    time.sleep(1.5)
    paused_at, paused_view = _step(page), _view(page)
    time.sleep(1.5)
    assert _step(page) == paused_at and _view(page) == paused_view

    # Switch the loss while paused: the explanation and the frame follow, the run is kept
    page.locator("#pg-loss-a input").click()
    page.get_by_role("option", name="Minimax (original)").click()
    _wait_for(lambda: "L_G = log(1 − D(G(z)))" in page.inner_text("#pg-eq-a"), 30, "the minimax equation")
    _wait_for(lambda: _view(page) != paused_view, 30, "the frame to be redrawn with the new loss")
    assert _step(page) == paused_at  # a live switch, not a restart

    page.click("#pg-step")
    _wait_for(lambda: _step(page) == paused_at + 1, 30, "one more step under minimax")
    page.close()


def test_clicked_points_become_the_target_and_their_modes_are_counted(app_url, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    page.goto(app_url)
    page.wait_for_selector("#pg-view-a img", timeout=60_000)
    page.get_by_label("Your own points").check()
    canvas = page.locator("#pg-canvas img")
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    for fx, fy in ((0.3, 0.3), (0.7, 0.3), (0.5, 0.75)):
        before = canvas.screenshot()
        canvas.click(position={"x": box["width"] * fx, "y": box["height"] * fy})
        _wait_for(lambda: canvas.screenshot() != before, 30, "the clicked point to appear")
    page.click("#pg-step")
    _wait_for(lambda: page.input_value("#pg-modes-a textarea").endswith("/ 3"), 60,
              "coverage over the 3 clicked modes")
    page.close()


def test_the_tab_follows_the_browser_language_and_the_screenshot_is_saved(app_url, browser):
    zh = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    zh.goto(app_url)
    zh.wait_for_selector("#pg-view-a img", timeout=60_000)
    assert "目标分布" in zh.inner_text("#pg-dist")
    zh.close()

    # the README picture: a strong D collapses run A onto few modes, zero-centred GP cures run B
    page = browser.new_page(viewport={"width": 1280, "height": 980}, locale="en-US")
    page.goto(app_url)
    page.wait_for_selector("#pg-view-a img", timeout=60_000)
    page.get_by_label("Compare two runs (A/B)").check()
    page.wait_for_selector("#pg-view-b img", timeout=30_000)
    page.locator("#pg-preset input").click()
    page.get_by_role("option", name="Strong D without vs with zero-centred GP").click()
    _wait_for(lambda: "No penalty" in page.inner_text("body"), 30, "the preset to fill in run A")
    speed = page.locator("#pg-speed input[type=number]")
    speed.fill("20")
    speed.press("Enter")
    page.click("#pg-play")
    _wait_for(lambda: _step(page, "b") > 0, 60, "both runs to start")
    # the README's picture wants 800 steps; a plain test run only needs both runs moving
    target = 800 if os.environ.get("GAN_STUDIO_SCREENSHOTS") else 40
    wait_until(lambda: _step(page, "b") >= target, 240)
    page.click("#pg-pause")
    time.sleep(1.5)
    assert _step(page, "a") == _step(page, "b") > 0  # same data, seed and pace: only settings differ
    _save_small_png(page.screenshot(full_page=False), SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 10_000
    page.close()


def _save_small_png(png: bytes, path: Path) -> None:
    """A 128-colour palette PNG: the screenshot stays small enough to commit."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
