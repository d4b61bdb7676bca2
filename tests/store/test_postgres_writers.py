"""Writers and readers together on one real database: two `rag index` runs wait their turn on the
advisory lock, a kill -9 mid-run leaves every document whole and the index searchable, and several
`rag serve` processes answer from what any of them (or `rag index`) wrote, without a restart; a
connection dropped mid-question fails that question alone."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
from gradio_client import Client

from rag.config import Config
from rag.engine import Engine
from rag.store import build_index
from rag.store.postgres.writer import LOCK_KEY
from tests import ui_fixtures
from tests.conftest import RAG, ROOT, SEEDS, run_rag
from tests.ui_fixtures import rag_serve

pytestmark = pytest.mark.slow

NEW_DOC = (
    "The great airship sheds at Cardington in Bedfordshire were built for the airship programme of the "
    "1920s. The R101 airship was housed in the larger of the two sheds before its last flight, and the "
    "sheds still stand beside the village today as a reminder of that era.\n"
)
NEW_QUESTION = "Where was the R101 airship housed before its last flight?"


def _wait_for(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)  # polling interval while the other process works
    pytest.fail(f"{what} did not happen within {timeout:.0f} s")


def _consistent(url: str) -> None:
    """Every document holds exactly its chunks; BM25's totals and postings agree with them."""
    with psycopg.connect(url) as conn:
        bad = conn.execute(
            "SELECT d.doc FROM citerag.documents d LEFT JOIN citerag.chunks c ON c.doc = d.doc "
            "GROUP BY d.doc, d.n_chunks HAVING count(c.id) <> d.n_chunks"
        ).fetchall()
        assert bad == []
        totals = conn.execute("SELECT chunks, tokens FROM citerag.corpus").fetchone()
        assert (
            totals == conn.execute("SELECT count(*), coalesce(sum(length), 0) FROM citerag.chunks").fetchone()
        )


def _index(url: str, folder: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [*RAG, "index", str(folder), "--store", url], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )


def test_a_second_index_run_waits_for_the_first(pg_url: str, corpus: Path, tmp_path: Path) -> None:
    log = tmp_path / "index.log"
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        proc = _index(pg_url, corpus, log)
        try:
            _wait_for(lambda: "waiting for another `rag index`" in log.read_text(), 120, "the wait")
            assert proc.poll() is None
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    assert proc.wait(timeout=300) == 0, log.read_text()
    assert "5 documents" in log.read_text()
    # two runs at once on more documents: both succeed, nothing is counted twice
    more = tmp_path / "more"
    more.mkdir()
    for path in corpus.iterdir():
        shutil.copyfile(path, more / f"copy-{path.name}")
    (more / "airships.txt").write_text(NEW_DOC, encoding="utf-8")
    runs = [_index(pg_url, more, tmp_path / f"run{i}.log") for i in range(2)]
    assert [p.wait(timeout=600) for p in runs] == [0, 0]
    _consistent(pg_url)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM citerag.documents").fetchone() == (11,)


@pytest.mark.parametrize("rebuild", [False, True])
def test_a_kill_mid_run_leaves_the_index_searchable(
    pg_url: str, corpus: Path, tmp_path: Path, embedder: object, rebuild: bool
) -> None:
    config = Config(store=pg_url)
    build_index([corpus], config)
    for path in sorted(corpus.iterdir())[:3]:
        path.write_text(path.read_text(encoding="utf-8") + "\n\n" + NEW_DOC, encoding="utf-8")
    for i in range(4):
        (corpus / f"extra{i}.txt").write_text(NEW_DOC.replace("R101", f"R10{i}"), encoding="utf-8")
    log = tmp_path / "index.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*RAG, "index", str(corpus), "--store", pg_url, *(["--rebuild"] if rebuild else [])],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def writing() -> bool:
        with psycopg.connect(pg_url) as conn:
            return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()[0] > 0

    _wait_for(writing, 180, "the run taking the writer's lock")
    time.sleep(8)  # into the embedding and writing (the model loads before the lock is taken)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _consistent(pg_url)
    engine = Engine(config)
    try:
        assert engine.search("child protection").passages
        assert len(engine.reader.documents()) >= 5
    finally:
        engine.close()
    report = build_index([corpus], config, rebuild=rebuild)  # the next run finishes the work
    assert report.documents == 9
    _consistent(pg_url)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regnamespace('citerag_next')").fetchone() == (None,)


def _ask(server_url: str, question: str) -> dict[str, object]:
    answer: dict[str, object] = Client(server_url, verbose=False).predict(question, api_name="/ask")
    return answer


def test_several_servers_share_one_database(
    pg_url: str, tmp_path: Path, embedder: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document indexed while two `rag serve` run is answered by both; so is its removal; a
    connection the server drops mid-question fails that question, and the next is answered."""
    monkeypatch.setattr(ui_fixtures, "START_TIMEOUT", 300.0)  # two servers' models on a busy machine
    config = Config(store=pg_url)
    build_index([SEEDS], config)
    docs = tmp_path / "docs"
    docs.mkdir()
    settings = f'store = "{pg_url}"\n'
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        rag_serve(tmp_path / "a" / "index", tmp_path / "a", settings) as a,
        rag_serve(tmp_path / "b" / "index", tmp_path / "b", settings) as b,
    ):
        for server in (a, b):
            assert all(c["doc"] != "airships.txt" for c in _ask(server.url, NEW_QUESTION)["citations"])  # type: ignore[union-attr]
        (docs / "airships.txt").write_text(NEW_DOC, encoding="utf-8")
        assert run_rag("index", str(docs), "--store", pg_url, timeout=900).returncode == 0
        for server in (a, b):
            answer = _ask(server.url, NEW_QUESTION)
            assert [c["doc"] for c in answer["citations"]][:1] == ["airships.txt"], answer  # type: ignore[index, union-attr]
        (docs / "airships.txt").unlink()
        (docs / "other.txt").write_text(
            SEEDS.joinpath(sorted(os.listdir(SEEDS))[0]).read_text(), encoding="utf-8"
        )
        assert run_rag("index", str(docs), "--store", pg_url, timeout=900).returncode == 0
        for server in (a, b):
            cited = [c["doc"] for c in _ask(server.url, NEW_QUESTION)["citations"]]  # type: ignore[union-attr]
            assert "airships.txt" not in cited

        # a dropped connection mid-question: the question waits on a table lock, its backend is cut
        outcome: dict[str, object] = {}

        def ask() -> None:
            try:
                outcome["answer"] = _ask(a.url, "What did Tim Loughton say about the Munro review?")
            except Exception as exc:  # the error answer is what is tested
                outcome["error"] = str(exc)

        with psycopg.connect(pg_url) as holder:
            holder.execute("LOCK TABLE citerag.chunks IN ACCESS EXCLUSIVE MODE")
            asking = threading.Thread(target=ask)
            asking.start()

            def blocked() -> list[tuple[int]]:
                with psycopg.connect(pg_url) as conn:
                    return conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'"
                    ).fetchall()

            _wait_for(blocked, 60, "the question waiting on the lock")
            with psycopg.connect(pg_url) as killer:
                for (pid,) in blocked():
                    killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        asking.join(timeout=60)
        assert "error" in outcome and "database" in str(outcome["error"]), outcome
        answer = _ask(a.url, "What did Tim Loughton say about the Munro review?")
        assert answer["citations"] and not answer["abstained"]
        log = a.log.read_text()  # gradio logs the error answer it sent; no database error escaped us
        assert "gradio.exceptions.Error: 'the database at" in log and "psycopg/" not in log
