"""Small helpers every tab uses: errors without tracebacks, escaping, the client id."""

from __future__ import annotations

import functools
import html
import logging
from typing import Any, Callable

import gradio as gr

from gan_core.errors import GanStudioError

log = logging.getLogger("gan_studio")

STRINGS = {
    "en": {
        "app.title": "# GAN Studio",
        "tab.train": "Train",
        "tab.sample": "Sample",
        "tab.interpolate": "Interpolate",
        "tab.video": "Video",
        "tab.models": "Models",
        "tab.playground": "2D Playground",
        "app.subtitle": "Train, explore and understand generative adversarial networks in your browser.",
        "common.model": "Model",
        "common.seed": "Seed",
        "common.class": "Class",
        "common.explain": "What is happening?",
        "common.error.bad_input": "Cannot do that: {detail}",
        "common.error.internal": "Something went wrong on the server ({kind}). Please try again; if it persists, report it.",
        "common.error.no_model": "Pick a model first.",
        "common.error.range": "{field}: {value} must be from {lo} to {hi}.",
        "common.error.session": "Your session expired; reload the page.",
        "common.busy": "The server is busy; please try again in a moment.",
    },
    "zh-CN": {
        "app.title": "# GAN 工作室",
        "tab.train": "训练",
        "tab.sample": "采样",
        "tab.interpolate": "插值",
        "tab.video": "视频",
        "tab.models": "模型",
        "tab.playground": "二维演练场",
        "app.subtitle": "在浏览器中训练、探索并理解生成对抗网络。",
        "common.model": "模型",
        "common.seed": "随机种子",
        "common.class": "类别",
        "common.explain": "这里发生了什么？",
        "common.error.bad_input": "无法完成：{detail}",
        "common.error.internal": "服务器出错（{kind}）。请重试；如果问题持续，请报告。",
        "common.error.no_model": "请先选择一个模型。",
        "common.error.range": "{field}：{value} 必须在 {lo} 到 {hi} 之间。",
        "common.error.session": "会话已过期，请刷新页面。",
        "common.busy": "服务器繁忙，请稍后再试。",
    },
}


def escape(name: str) -> str:
    """A user-supplied name (a file in an upload), safe to show in Markdown or HTML."""
    return html.escape(str(name), quote=True).replace("`", "&#96;").replace("[", "&#91;").replace("]", "&#93;")


def guarded(ctx, fn: Callable) -> Callable:
    """Wrap a handler: user errors become a clear gr.Error, bugs a generic one (logged), never a traceback.

    The handler may take a `request: gr.Request` argument (gradio fills it in); the wrapper
    uses it to answer in the browser's language.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        request = kwargs.get("request") or next((a for a in args if isinstance(a, gr.Request)), None)
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (GanStudioError, ValueError) as e:
            raise gr.Error(ctx.tr(request, "common.error.bad_input", detail=str(e)), print_exception=False) from None
        except Exception as e:  # a bug: log it, show a plain line
            log.exception("handler %s failed", getattr(fn, "__name__", fn))
            raise gr.Error(ctx.tr(request, "common.error.internal", kind=type(e).__name__), print_exception=False) from None

    return wrapper


def require_client(ctx, client_id: Any, request: gr.Request | None) -> str:
    if not ctx.workspace.valid(client_id):
        raise gr.Error(ctx.tr(request, "common.error.session"), print_exception=False)
    return client_id
