"""The documents tab's handlers (ui/documents.py) on a real library: status lines name uploads by
their file names and never show a browser user the server's folders."""

from __future__ import annotations

import html
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


def test_an_upload_with_nothing_left_after_cleaning_is_not_called_indexed(
    seed_index: Config, tmp_path: Path
) -> None:
    """The status once said "Indexed menu.txt … menu.txt: no text left after cleaning; nothing
    indexed": it names such a file only once, as not indexed."""
    index = tmp_path / "index"
    shutil.copytree(seed_index.index_dir, index)
    handlers = Documents(Library(seed_index.with_(index_dir=index)))
    upload = tmp_path / "menu.txt"
    upload.write_text("Home\n\nSubscribe to our newsletter\n\nPrivacy policy\n\nCookies\n")
    status = html.unescape(handlers.upload([str(upload)])[0])
    assert status.startswith("Indexed nothing new in "), status
    assert (
        status.count("menu.txt") == 1 and "menu.txt: no text left after cleaning; nothing indexed" in status
    )
