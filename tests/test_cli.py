"""The `rag` command line: contracts of `rag index` and `rag inspect`, and clean user errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from rag.config import Config
from tests.conftest import SEEDS, collapse, run_rag


def assert_user_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2 and one line on stderr naming the problem, never a traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rag: error:"), result.stderr
    for word in words:
        assert word in lines[0]


def test_help_lists_the_commands() -> None:
    result = run_rag("--help")
    assert result.returncode == 0
    assert "index" in result.stdout and "inspect" in result.stdout


def test_index_json_then_unchanged_then_show_dropped(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    (docs / "photo.heic").write_bytes(b"\xff\xd8\xff")
    index = tmp_path / "idx"
    first = run_rag("index", str(docs), "--index-dir", str(index), "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["documents"] == 5 and summary["changed"] == 5 and summary["chunks"] > 30
    assert summary["dropped_paragraphs"] > 20 and summary["seconds"] > 0
    assert "rag: warning: skipped" in first.stderr and "photo.heic" in first.stderr

    again = run_rag("index", str(docs), "--index-dir", str(index), "--show-dropped")
    assert again.returncode == 0, again.stderr
    assert "0 changed" in again.stdout
    assert "002_325d7f82ffdefe65.txt:" in again.stdout
    assert "[spam]" in again.stdout and "replica watches" in again.stdout
    assert "[comment section]" in again.stdout


def test_inspect_prints_chunks_that_map_back_to_the_source(seed_index: Config) -> None:
    result = run_rag("inspect", "--index-dir", str(seed_index.index_dir))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) > 30
    for row in rows:
        assert {"doc", "chunk_id", "start", "end", "text"} <= set(row)
        source = (SEEDS / row["doc"]).read_text(encoding="utf-8")
        assert collapse(source[row["start"] : row["end"]]) == row["text"]


def test_user_mistakes_exit_2_with_one_line(tmp_path: Path, seed_index: Config) -> None:
    assert_user_error(run_rag("index", str(tmp_path / "nope")), "path not found", "nope")
    assert_user_error(run_rag("inspect", "--index-dir", str(tmp_path / "none")), "no index in")
    config = tmp_path / "rag.toml"
    config.write_text('model = "all-MiniLM-L6-v2"\nchunk_tokens = 90\n')
    assert_user_error(
        run_rag("index", str(SEEDS), "--index-dir", str(seed_index.index_dir), "--config", str(config)),
        "chunk_tokens: 200 → 90",
        "rag index --rebuild",
    )
    config.write_text("chunk_tokens = 3\n")
    assert_user_error(run_rag("index", "--config", str(config)), "chunk_tokens must be")
    config.write_text("colour = 'blue'\n")
    assert_user_error(run_rag("index", "--config", str(config)), "unknown settings colour")


def test_a_damaged_index_asks_for_a_rebuild(tmp_path: Path, seed_index: Config) -> None:
    index = tmp_path / "idx"
    shutil.copytree(seed_index.index_dir, index)
    gen = (index / "CURRENT").read_text().strip()
    (index / gen / "rag.sqlite").write_bytes(b"not a database" * 100)
    assert_user_error(run_rag("inspect", "--index-dir", str(index)), "damaged", "--rebuild")


@pytest.mark.parametrize(
    ("name", "damage"),
    [("vectors.faiss", "truncate"), ("rag.sqlite", "flip"), ("bm25/params.index.json", "delete")],
)
def test_a_changed_index_file_is_caught_by_its_checksum(
    tmp_path: Path, seed_index: Config, name: str, damage: str
) -> None:
    """Damage SQLite or FAISS would not notice (or would crash on) is reported on open, for readers
    and for the next `rag index`, which must not build on it."""
    index = tmp_path / "idx"
    shutil.copytree(seed_index.index_dir, index)
    path = index / (index / "CURRENT").read_text().strip() / name
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    else:
        path.unlink()
    for args in (["search", "children"], ["index", str(SEEDS)]):
        assert_user_error(run_rag(*args, "--index-dir", str(index)), "damaged", name, "rag index --rebuild")
