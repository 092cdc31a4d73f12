"""Launch the real app in-process on a free loopback port, for gradio_client and browser tests."""

from __future__ import annotations

import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from gan_core.checkpoint import save_generator
from gan_core.config import ModelConfig, RunConfig
from gan_core.models import build_models


# Debian's chromium, never a downloaded browser; these flags keep it offline and quiet.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@contextmanager
def launch_chromium(*extra_args: str):
    """Yield a Playwright browser on Debian's chromium; fail (never skip) when it is missing."""
    import pytest
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium; scripts/test.sh does it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


def wait_until(predicate, timeout: float = 60, interval: float = 0.2) -> bool:
    """Poll `predicate` until it is true (True) or `timeout` seconds pass (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_checkpoints(root: Path) -> Path:
    """A checkpoints/ folder with two tiny bundled-style models: unconditional and 3-class."""
    for name, classes in (("tiny-uncond", []), ("tiny-cond", ["red", "green", "blue"])):
        cfg = ModelConfig(res=16, channels=3, nz=8, ngf=8, ndf=8, num_classes=len(classes))
        g, _ = build_models(cfg, seed=1)
        with torch.no_grad():  # give the untrained nets visible output, different per class
            g.to_img.weight.mul_(20)
            for m in g.modules():
                if hasattr(m, "gamma") and hasattr(m, "beta"):
                    m.gamma.weight.normal_(1.0, 0.5, generator=torch.Generator().manual_seed(2))
                    m.beta.weight.normal_(0.0, 0.5, generator=torch.Generator().manual_seed(3))
        d = root / name
        d.mkdir(parents=True)
        save_generator(d / "model.safetensors", g, RunConfig(model=cfg, class_names=classes, data=name))
        (d / "README.md").write_text(f"# {name}\n\nA tiny test model.\n")
    return root


@contextmanager
def running_app(tmp_path: Path, checkpoints: Path | None = None, **build_kwargs):
    """Yield (url, demo, ctx) for the app served on 127.0.0.1; shut everything down after."""
    import app as app_module

    ckpts = checkpoints or make_checkpoints(tmp_path / "checkpoints")
    demo, ctx = app_module.build_demo(tmp_path / "workspace", checkpoints=ckpts, **build_kwargs)
    port = free_port()
    app_module.launch(demo, ctx, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/", demo, ctx
    finally:
        ctx.jobs.shutdown()
        demo.close()
