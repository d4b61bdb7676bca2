"""Shared fixtures: the real model, a seed index built once per session, temporary index folders."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.config import Config
from rag.store.embed import Embedder
from rag.store.indexer import build_index

pytest_plugins = [
    "tests.ui_fixtures",
    "tests.llm_fixtures",
    "tests.postgres_fixtures",
]  # browser, LLMs, PostgreSQL

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
RAG = [sys.executable, "-m", "rag.cli"]
# The JSON contract of a passage and of a citation (`rag search --json`, `rag ask --json`, /ask).
PLACE_KEYS = {"title", "page", "locator"}  # where a quote is
PASSAGE_KEYS = {"rank", "score", "doc", "chunk_id", "start", "end", "text", "scores", *PLACE_KEYS}
CITATION_KEYS = {"n", "doc", "chunk_id", "start", "end", "quote", *PLACE_KEYS}


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def run_rag(
    *args: str, cwd: Path = ROOT, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `rag` command line in a subprocess (`env`: its whole environment)."""
    return subprocess.run(
        [*RAG, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model (all-MiniLM-L6-v2 from its PyPI package), loaded once."""
    e = Embedder(Config())
    e.model  # noqa: B018 - load now, once per session
    return e


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Config:
    """An index of the five seed articles, built once per test session. Do not modify it."""
    config = Config(index_dir=tmp_path_factory.mktemp("seed-index"))
    build_index([SEEDS], config)
    return config


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the seeds that a test may change."""
    dst = tmp_path / "docs"
    shutil.copytree(SEEDS, dst)
    return dst


@pytest.fixture
def fresh_config(tmp_path: Path) -> Config:
    return Config(index_dir=tmp_path / "index")


@pytest.fixture
def seeds() -> Iterator[Path]:
    yield SEEDS
