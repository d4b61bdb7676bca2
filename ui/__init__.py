"""The browser chat (Gradio): a thin layer over `rag`'s engine and library, started by `rag serve`."""
