"""GAN Studio's Gradio UI: one module per tab (layout + thin handlers), shared context, i18n.

Each tab module defines `STRINGS = {"en": {...}, "zh-CN": {...}}` (its own keys, prefixed
by the tab's name) and `build(ctx)`, called inside that tab's `gr.Tab`.
"""
