"""Models tab (being built)."""

STRINGS = {"en": {"models.todo": "Coming soon."}, "zh-CN": {"models.todo": "即将上线。"}}


def build(ctx) -> None:
    import gradio as gr

    gr.Markdown(ctx.t("models.todo"))
