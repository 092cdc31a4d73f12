"""Video tab (being built)."""

STRINGS = {"en": {"video.todo": "Coming soon."}, "zh-CN": {"video.todo": "即将上线。"}}


def build(ctx) -> None:
    import gradio as gr

    gr.Markdown(ctx.t("video.todo"))
