"""End to end in Debian's chromium: upload a zip, read the report, train briefly, watch the grid change.

Saves docs/screenshots/train.png for the README.
"""

from __future__ import annotations

import io
import re
import time

import pytest
from PIL import Image

from apphelpers import running_app
from test_app_train import class_zip
from test_browser_tabs import SHOTS, browser, checkpoints_for, open_app  # noqa: F401 (fixture)
from ui.tab_train import D_COLOUR, G_COLOUR

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-train")
    with running_app(tmp, checkpoints=checkpoints_for(tmp)) as (url, demo, ctx):
        yield url


def grid_src(page) -> str | None:
    img = page.locator("#train-grid img")
    return img.first.get_attribute("src") if img.count() else None


def test_upload_a_zip_train_and_watch_the_grid_change(browser, app_url, tmp_path):  # noqa: F811
    context, page = open_app(browser, app_url)
    try:
        page.locator("input[type=file]").first.set_input_files(str(class_zip(tmp_path / "set.zip", n=40)))
        # the upload has reached the server when the file row shows its size (its name is drawn
        # in parts that get_by_text does not always match)
        page.get_by_text(re.compile(r"\d+(\.\d+)?\s*KB")).first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Check data", exact=True).click()
        report = page.get_by_label("Dataset report", exact=True)
        page.wait_for_function("el => el.value.includes('images used')", arg=report.element_handle(), timeout=60_000)
        assert "bright: 20" in report.input_value() and "dark: 20" in report.input_value()

        page.get_by_label("Steps", exact=True).fill("150")
        page.get_by_role("button", name="Start training", exact=True).click()
        page.get_by_text("Training: step").wait_for(timeout=120_000)
        deadline, seen = time.time() + 120, set()
        while time.time() < deadline and len(seen) < 2:  # grids at step 0, 25, 50, ...
            src = grid_src(page)
            if src:
                seen.add(src)
            page.wait_for_timeout(1000)
        assert len(seen) >= 2, "the fixed-z grid never changed"
        # the plots draw their curves in the colours their labels name: D blue, G orange
        for colour in (D_COLOUR, G_COLOUR):
            page.locator(f'.mark-line path[stroke="{colour}"]').first.wait_for(state="attached", timeout=60_000)
        page.locator("#train-grid").scroll_into_view_if_needed()  # the live part: status, grid, plots
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(500)
        shot = SHOTS / "train.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        Image.open(io.BytesIO(page.screenshot())).convert("RGB").quantize(256).save(shot, optimize=True)
        page.get_by_role("button", name="Stop", exact=True).click()
        page.get_by_text("Stopped at step").or_(page.get_by_text("Finished after")).wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"))
        print("screenshot of the failure:", tmp_path / "failure.png")
        raise
    finally:
        context.close()
