"""Interpolate tab (being built)."""

STRINGS = {"en": {"interpolate.todo": "Coming soon."}, "zh-CN": {"interpolate.todo": "即将上线。"}}


def build(ctx) -> None:
    import gradio as gr

    gr.Markdown(ctx.t("interpolate.todo"))
