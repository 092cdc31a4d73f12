"""GAN Studio: a browser workbench to train, explore and understand GANs.

`python app.py` serves it on http://127.0.0.1:7860 (gradio honours GRADIO_SERVER_NAME and
GRADIO_SERVER_PORT). This file only lays out the tabs and starts the shared services;
each tab lives in ui/ and calls gan_core.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CHECKPOINTS = ROOT / "checkpoints"
TABS = ("train", "sample", "interpolate", "video", "models", "playground")  # ui/<module>.py, in order
TAB_MODULES = {
    "train": "ui.tab_train",
    "sample": "ui.tab_sample",
    "interpolate": "ui.tab_interpolate",
    "video": "ui.tab_video",
    "models": "ui.tab_models",
    "playground": "ui.playground",
}


def build_demo(workspace_root: str | Path | None = None, *, limits=None, jobs=None, checkpoints=CHECKPOINTS,
               tabs: tuple[str, ...] = TABS):
    """Build the Blocks and its services; returns (demo, ctx). Starts nothing until launched.

    `tabs` picks a subset (tests of one tab start faster).
    """
    import importlib

    import gradio as gr

    from ui import common
    from ui.context import AppContext, Limits
    from ui.i18n import Translator, merge
    from ui.jobs import JobManager
    from ui.models import ModelRegistry
    from ui.workspace import Workspace

    modules = {name: importlib.import_module(TAB_MODULES[name]) for name in TABS}  # all strings, even unbuilt tabs
    translator = Translator(merge([common.STRINGS, *(m.STRINGS for m in modules.values())]))
    workspace = Workspace(workspace_root or Path(tempfile.gettempdir()) / "gan-studio")
    ctx = AppContext(
        t=translator.label,
        tr=translator,
        registry=ModelRegistry(checkpoints, workspace),
        jobs=jobs or JobManager(),
        workspace=workspace,
        limits=limits or Limits(),
    )
    with gr.Blocks(title="GAN Studio", delete_cache=(600, 3600)) as demo:
        ctx.client = gr.BrowserState(None, storage_key="gan-studio-client")
        gr.Markdown(ctx.t("app.title"))
        gr.Markdown(ctx.t("app.subtitle"))
        for name in tabs:
            with gr.Tab(ctx.t(f"tab.{name}"), id=name):
                modules[name].build(ctx)

        def init_client(client_id):
            """This browser's id (new on a first visit); also sweeps idle clients' folders (TTL)."""
            workspace.sweep(busy=ctx.jobs.busy_clients())
            if not workspace.valid(client_id):
                return workspace.new_client_id()
            workspace.clean_scratch(client_id)  # downloads and videos of earlier visits
            return client_id

        demo.load(init_client, inputs=[ctx.client], outputs=[ctx.client], queue=False, api_visibility="private")
    demo.ctx = ctx
    demo.translator = translator
    return demo, ctx


# Model cards: the property names of a card's table stay whole ("data licence", not "licen ce"),
# and the empty header row of a Hugging Face style two-column table is not drawn.
CSS = """
.model-card td:first-child { white-space: nowrap; }
.model-card thead:has(th:empty) { display: none; }
"""


def launch(demo, ctx, **kwargs):
    """Start the job manager and serve the app (blocking unless prevent_thread_lock=True)."""
    ctx.jobs.start()
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo.launch(
        i18n=demo.translator.i18n,
        max_file_size=f"{ctx.limits.max_upload_mb}mb",
        allowed_paths=[str(ctx.workspace.root), str(ctx.registry.bundled_dir)],
        css=CSS,
        **kwargs,
    )


if __name__ == "__main__":
    # The server, the training process and video encoding share the cores: idle OpenMP
    # threads must sleep, not spin (spinning made a busy 2-core machine 5-10x slower).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    demo, ctx = build_demo(os.environ.get("GAN_STUDIO_HOME"))
    try:
        launch(demo, ctx)
    finally:
        ctx.jobs.shutdown()
