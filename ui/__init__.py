"""The Gradio chat UI: a thin layer over the `rag` engine (arrives with the UI issue)."""
