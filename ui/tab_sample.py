"""Sample tab (being built)."""

STRINGS = {"en": {"sample.todo": "Coming soon."}, "zh-CN": {"sample.todo": "即将上线。"}}


def build(ctx) -> None:
    import gradio as gr

    gr.Markdown(ctx.t("sample.todo"))
