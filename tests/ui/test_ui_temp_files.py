"""Gradio's copies of uploads (ui/temp_files.py), looked at on disk: they live in the server's own
folder, are emptied at start, go once a handler has used them, and the raw upload route stops at a
quota."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.config import Config
from tests.ui.test_ui_browser import remove, upload
from tests.ui_fixtures import Server, Tab, rag_serve
from ui.temp_files import TEMP_FOLDER, discard

NOTE = (
    "Harbour Lights.\n\nThe Portmere lighthouse was automated in 1987 by the keepers' trust, which still "
    "paints its tower red and white every spring before the fishing season opens. Visitors may climb "
    "the tower on Saturdays in summer, when volunteers from the trust explain how the lamp works."
)


def copies(folder: Path, name: str) -> list[Path]:
    return [p for p in folder.rglob(name) if p.is_file()]


def test_an_indexed_upload_leaves_no_copy_behind(tab: Tab, ui_server: Server, tmp_path: Path) -> None:
    temp = ui_server.index_dir / TEMP_FOLDER
    note = tmp_path / "portmere_note.txt"
    note.write_text(NOTE, encoding="utf-8")
    upload(tab, note)
    try:
        assert temp.is_dir() and not copies(temp, note.name)
        assert (ui_server.index_dir / "uploads" / note.name).is_file()  # the index's own copy
    finally:
        remove(tab, note.name)
    assert not copies(temp, note.name) and not (ui_server.index_dir / "uploads" / note.name).exists()


def test_discard_deletes_only_inside_the_temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    temp, outside = tmp_path / "temp", tmp_path / "mine.txt"
    (temp / "3f9a").mkdir(parents=True)
    copy = temp / "3f9a" / "report.txt"
    copy.write_text("x", encoding="utf-8")
    outside.write_text("keep", encoding="utf-8")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(temp))
    discard([copy, outside, temp / ".." / "mine.txt"])
    assert not copy.exists() and not (temp / "3f9a").exists() and temp.is_dir()
    assert outside.read_text(encoding="utf-8") == "keep"


@pytest.fixture
def small_server(seed_index: Config, tmp_path: Path) -> Iterator[Server]:
    """`rag serve` with uploads of at most 0.25 MB (a 1 MB quota), on a copy of the seed index whose
    temp folder holds a leftover from an earlier run."""
    index = tmp_path / "index"
    shutil.copytree(seed_index.index_dir, index)
    leftover = index / TEMP_FOLDER / "0ld" / "leftover.pdf"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"%PDF-1.4 from an earlier run")
    with rag_serve(index, tmp_path, "max_file_mb = 0.25\n") as server:
        yield server


@pytest.mark.slow
def test_the_temp_folder_is_emptied_at_start_and_the_raw_upload_route_has_a_quota(
    small_server: Server,
) -> None:
    temp = small_server.index_dir / TEMP_FOLDER
    assert temp.is_dir() and not any(temp.rglob("leftover.pdf"))
    assert oct(temp.stat().st_mode & 0o777) == "0o700"
    statuses = []
    for i in range(6):  # 6 × 0.24 MB posted straight to the route, never reaching a handler
        response = httpx.post(
            small_server.url + "gradio_api/upload",
            files={"files": (f"blob{i}.bin", os.urandom(240_000))},
            timeout=30,
        )
        statuses.append(response.status_code)
    assert statuses[:4] == [200] * 4 and statuses[4:] == [413, 413], statuses
    assert "upload space is full" in response.text
    held = sum(p.stat().st_size for p in temp.rglob("*") if p.is_file())
    assert held <= 1_000_000 and len(list(temp.rglob("blob*.bin"))) == 4
    too_big = httpx.post(
        small_server.url + "gradio_api/upload", files={"files": ("big.bin", os.urandom(300_000))}, timeout=30
    )
    assert too_big.status_code == 413
