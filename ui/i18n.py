"""English and Simplified Chinese, merged from every tab module's STRINGS.

Labels go to the browser as `gr.I18n` keys and follow the browser's language; messages
made on the server (errors, status lines) are translated with the request's
Accept-Language header by `Translator.__call__`.
"""

from __future__ import annotations

from typing import Any, Iterable

import gradio as gr

LANGS = ("en", "zh-CN")


def merge(string_tables: Iterable[dict[str, dict[str, str]]]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGS}
    for table in string_tables:
        for lang in LANGS:
            dup = set(merged[lang]) & set(table.get(lang, {}))
            if dup:
                raise ValueError(f"i18n keys defined twice: {sorted(dup)[:5]}")
            merged[lang].update(table.get(lang, {}))
    missing = set(merged["en"]) ^ set(merged["zh-CN"])
    if missing:
        raise ValueError(f"i18n keys missing in one language: {sorted(missing)[:10]}")
    return merged


def language_of(request: gr.Request | None) -> str:
    """"zh-CN" when the browser prefers Chinese, else "en"."""
    header = ""
    if request is not None:
        try:
            header = request.headers.get("accept-language", "") or ""
        except Exception:
            header = ""
    first = header.split(",")[0].strip().lower()
    return "zh-CN" if first.startswith("zh") else "en"


class Translator:
    def __init__(self, strings: dict[str, dict[str, str]]):
        self.strings = strings
        self.i18n = gr.I18n(**strings)

    def __call__(self, request: gr.Request | None, key: str, **fmt: Any) -> str:
        table = self.strings[language_of(request)]
        text = table.get(key) or self.strings["en"].get(key) or key
        return text.format(**fmt) if fmt else text

    def label(self, key: str):
        """A label that the browser translates."""
        if key not in self.strings["en"]:
            raise KeyError(f"unknown i18n key {key!r}")
        return self.i18n(key)
