"""One-line messages to the user as a toast (gradio renders toasts as HTML, so the text is escaped)."""

from __future__ import annotations

import gradio as gr

from ui.render import text


def warn(message: str) -> None:
    gr.Warning(text(message))
