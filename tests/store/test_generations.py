"""Readers and builds at once (rag/store/generations.py): a reader opened before a build's commit reads
the old state to its end, lazily loaded parts included; the replaced generation goes when the last
reader lets go; a generation deleted under a reader's feet is never what it holds."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

from rag.config import Config
from rag.engine import Engine
from rag.store import IndexReader, IndexWriter
from rag.store.generations import delete_if_unheld, hold
from rag.store.indexer import build_index

CLEVELAND = "Who chaired the inquiry into the Cleveland child abuse cases?"
NEW_DOC = (
    "Harbour Lights.\n\nThe harbour lighthouse at Portmere was automated in 1987 by the keepers' trust, "
    "which still paints its tower red and white every spring before the fishing season opens."
)


def two_docs(tmp_path: Path) -> Path:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for seed in sorted(Path("seeds").iterdir())[:2]:
        shutil.copy(seed, corpus / seed.name)
    return corpus


def held_and_replaced(tmp_path: Path) -> tuple[Path, Config, IndexReader]:
    """Two documents indexed, a reader opened on them, then a build adding a third: the reader holds
    the generation that build replaced."""
    corpus, config = two_docs(tmp_path), Config(index_dir=tmp_path / "index")
    build_index([corpus], config)
    reader = IndexReader(config.index_dir)
    (corpus / "harbour.txt").write_text(NEW_DOC, encoding="utf-8")
    build_index([corpus], config)
    return corpus, config, reader


def test_a_reader_opened_before_a_build_reads_the_old_state_to_its_end(tmp_path: Path) -> None:
    corpus, config = two_docs(tmp_path), Config(index_dir=tmp_path / "index")
    build_index([corpus], config)
    before = IndexReader(config.index_dir)  # FAISS and BM25 not loaded yet: they load on first use
    old_docs = [d["doc"] for d in before.documents()]
    (corpus / "harbour.txt").write_text(NEW_DOC, encoding="utf-8")
    build_index([corpus], config)
    after = IndexReader(config.index_dir)
    try:
        assert after.gen != before.gen and before.gen.exists()  # kept while a reader holds it
        assert before.faiss.ntotal == len(list(before.chunks())) < after.faiss.ntotal
        assert before.lexical is not None
        assert [d["doc"] for d in before.documents()] == old_docs
        assert "harbour.txt" in [d["doc"] for d in after.documents()]
    finally:
        before.close()
    assert not before.gen.exists()  # the last reader of a replaced generation removes it
    assert after.gen.exists()
    after.close()
    assert after.gen.exists()  # the live one stays, of course


def test_an_engine_opened_before_a_build_answers_after_it(tmp_path: Path) -> None:
    corpus, config = two_docs(tmp_path), Config(index_dir=tmp_path / "index")
    build_index([corpus], config)
    engine = Engine(config)
    try:
        (corpus / "harbour.txt").write_text(NEW_DOC, encoding="utf-8")
        build_index([corpus], config)
        old = engine.search("When was the Portmere lighthouse automated?")
        assert old.passages and all(p.doc != "harbour.txt" for p in old.passages)
        engine.ask(CLEVELAND)  # whatever it answers, it answers from the state it opened
    finally:
        engine.close()
    fresh = Engine(config)
    try:
        assert fresh.search("When was the Portmere lighthouse automated?").passages[0].doc == "harbour.txt"
    finally:
        fresh.close()


def test_a_build_keeps_a_held_generation_and_the_next_removes_it_once_free(tmp_path: Path) -> None:
    corpus, config, first = held_and_replaced(tmp_path)
    first._let_go.detach()[2][0].close()  # the hold ends without clean-up, as in a killed reader
    assert first.gen.exists()
    (corpus / "harbour.txt").unlink()
    build_index([corpus], config)
    assert sorted(g.name for g in config.index_dir.glob("gen-*")) == [IndexReader(config.index_dir).gen.name]


def test_a_reader_dropped_without_close_lets_go_when_collected(tmp_path: Path) -> None:
    _, _, forgotten = held_and_replaced(tmp_path)
    old = forgotten.gen
    assert old.exists()
    forgotten.db.close()
    del forgotten
    gc.collect()  # the reader's own references (a cache of bound methods) form a cycle
    assert not old.exists()


def test_a_deleted_generation_cannot_be_held(tmp_path: Path) -> None:
    gen = tmp_path / "gen-1"
    gen.mkdir()
    (gen / "manifest.json").write_text("{}", encoding="utf-8")
    held = hold(gen)
    assert held is not None
    assert not delete_if_unheld(gen) and gen.exists()  # a reader holds it
    held.close()
    assert delete_if_unheld(gen) and not gen.exists()
    assert hold(gen) is None


def test_a_reader_letting_go_during_a_build_never_takes_the_writers_lock(tmp_path: Path) -> None:
    """A reader closed while a build runs deletes its replaced generation without the build's lock:
    taking it, even for a moment, made an upload that started then fail as "another `rag index` is
    writing" (2 of 37 upload/remove cycles in `benchmarks/load.py --churn 2`)."""
    _, config, reader = held_and_replaced(tmp_path)
    old = reader.gen
    with IndexWriter(config.index_dir, config.index_settings()):  # a build holds the lock meanwhile
        reader.close()
        assert not old.exists()
