"""Train tab (being built)."""

STRINGS = {"en": {"train.todo": "Training arrives here soon."}, "zh-CN": {"train.todo": "训练功能即将上线。"}}


def build(ctx) -> None:
    import gradio as gr

    gr.Markdown(ctx.t("train.todo"))
