"""The documents tab's handlers (ui/documents.py) on a real library: status lines name uploads by
their file names and never show a browser user the server's folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.config import Config
from rag.library import Library, uploads_dir
from ui.documents import Documents


def test_status_lines_show_file_names_not_server_paths(
    seed_index: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "index"
    shutil.copytree(seed_index.index_dir, index)
    config = seed_index.with_(index_dir=index)
    temp = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(temp))
    handlers = Documents(Library(config))
    stored = uploads_dir(config).resolve() / "notes.md"
    copy = temp.resolve() / "9c1e" / "notes.md"
    line = handlers.public(f"{stored}: no text left after cleaning; nothing indexed. {copy}: empty file")
    assert line == "notes.md: no text left after cleaning; nothing indexed. notes.md: empty file"
    assert (
        handlers.public(f"cannot write to {index.resolve()}/uploads")
        == "cannot write to the index folder/uploads"
    )
    assert str(tmp_path) not in handlers.public(f"{index}/x and {index.resolve()}/y")
