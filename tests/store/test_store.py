"""The store's "auto" index kind: exact search for small collections, IVF once they grow."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import faiss
import pytest

from rag.config import Config
from rag.errors import UserError
from rag.store import IndexReader, check_settings
from rag.store import faiss_kind as store
from rag.store.indexer import build_index
from rag.store.manifest import FORMAT
from tests.conftest import SEEDS


def _base(config: Config) -> Any:
    reader = IndexReader(config.index_dir)
    try:
        return faiss.downcast_index(reader.faiss.index), reader.faiss.ntotal
    finally:
        reader.close()


def test_auto_is_exact_when_small_and_ivf_past_the_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The switch-over is measured in chunks (benchmarks/scale.py); lowered here so the five seed
    articles cross it both ways: growing past it rebuilds as IVF, shrinking below it goes back."""
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    config = Config(index_dir=tmp_path / "index")
    assert config.faiss_index == "auto"
    report = build_index([docs], config)
    kind, total = _base(config)
    assert isinstance(kind, faiss.IndexFlatIP) and total == report.chunks

    monkeypatch.setattr(store, "AUTO_IVF_FROM", report.chunks - 5)
    (docs / "extra.txt").write_text(
        "Foster carers in the north of England asked their councils for more support last winter, "
        "saying that the children placed with them often arrive with little notice and without the "
        "records their schools need. The councils said they would review the training they offer "
        "and publish a plan for the coming year, after talking to the carers and the children.\n"
    )
    grown = build_index([docs], config)
    kind, total = _base(config)
    assert isinstance(kind, faiss.IndexIVFFlat) and total == grown.chunks > report.chunks

    for path in sorted(docs.iterdir())[:2]:
        path.unlink()
    shrunk = build_index([docs], config)
    kind, total = _base(config)
    assert isinstance(kind, faiss.IndexFlatIP) and total == shrunk.chunks < report.chunks - 5


def test_an_index_from_before_the_chunker_setting_asks_for_a_rebuild(tmp_path: Path) -> None:
    """Its chunks may end on a lead-in ("He told delegates:") that the chunker now keeps with what
    follows: its passages are not the ones this version cuts."""
    wanted = Config().index_settings()
    old = {k: v for k, v in wanted.items() if k != "chunker"}
    with pytest.raises(UserError, match=r"chunker: '1' → '2'.*rag index --rebuild"):
        check_settings({"format": FORMAT, "settings": old}, wanted, tmp_path)
