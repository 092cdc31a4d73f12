"""Launch the real app in-process on a free loopback port, for gradio_client and browser tests."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from pathlib import Path

import torch

from gan_core.checkpoint import save_generator
from gan_core.config import ModelConfig, RunConfig
from gan_core.models import build_models


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
