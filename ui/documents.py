"""What the documents tab does: list the indexed documents, add uploads, remove a document.
Every outcome is one status line; the checks themselves live in rag.library."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import UserError
from rag.library import Library, uploads_dir
from ui.notify import warn
from ui.render import document_rows, text
from ui.temp_files import discard

PROGRESS = gr.Progress()  # a parameter defaulting to a Progress gets gradio's progress bar


class Documents:
    def __init__(self, library: Library) -> None:
        self.library = library

    def refresh(self) -> tuple[Any, Any]:
        """The table and the remove picker."""
        documents = self.library.documents()
        names = [d["doc"] for d in documents]
        return document_rows(documents), gr.update(choices=names, value=None)

    def _outcome(self, message: str, failed: bool) -> tuple[Any, ...]:
        """Status line, table, remove picker. The log gets the message as it is; the browser user a
        copy without the server's paths (an upload is named by its file name)."""
        if failed:
            warn(message)
        return (text(self.public(message)), *self.refresh())

    def public(self, message: str) -> str:
        config = self.library.config
        for folder in (uploads_dir(config).resolve(), uploads_dir(config).absolute(), uploads_dir(config)):
            message = message.replace(f"{folder}{os.sep}", "")
        temp = os.environ.get("GRADIO_TEMP_DIR")
        if temp:  # gradio's copy: TEMP/<hash>/NAME
            message = re.sub(re.escape(str(Path(temp).resolve())) + r"/[^/\s]+/", "", message)
        for folder in (config.index_dir.resolve(), config.index_dir.absolute()):
            message = message.replace(str(folder), "the index folder")
        return message

    def upload(self, files: list[str] | None, progress: gr.Progress = PROGRESS) -> tuple[Any, ...]:
        """Index the uploaded files; outputs: status line, table, remove picker, cleared upload box."""
        if not files:
            return (gr.skip(),) * 4
        try:
            report = self.library.add_files(
                [Path(f) for f in files], lambda done, step: progress(done, desc=step)
            )
        except UserError as exc:
            return (*self._outcome(str(exc), failed=True), None)
        finally:
            discard(files)  # indexed (copied to uploads/) or refused: gradio's copy goes either way
        indexed = [doc for doc in report.added if doc not in report.empty]
        message = (
            f"Indexed {', '.join(indexed) or 'nothing new'} in {report.seconds:.1f} s: now "
            f"{report.documents} documents, {report.chunks} chunks."
        )
        problems = [*report.errors, *report.notes]
        return (*self._outcome(" ".join([message, *problems]), failed=bool(problems)), None)

    def remove(self, doc: str | None) -> tuple[Any, ...]:
        if not doc:
            return self._outcome("Pick a document to remove first.", failed=True)
        try:
            self.library.remove(doc)
        except UserError as exc:
            return self._outcome(str(exc), failed=True)
        return self._outcome(f"Removed {doc}.", failed=False)
