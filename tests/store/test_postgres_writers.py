"""Writers and readers together on one real database: two `rag index` runs wait their turn on the
advisory lock, a kill -9 at any of several points of a run (chosen as tests/store/test_faults.py
chooses them, in its forked processes) leaves every document whole and the index searchable, and
several `rag serve` processes answer from what any of them (or `rag index`) wrote, without a restart; a
connection dropped mid-question fails that question alone."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from functools import partial
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
from tests.postgres_fixtures import ADMIN
from tests.store.test_faults import REVISION, Child, grow, kill_when, mixed_documents, timeline
from tests.store.test_indexer import Snapshot
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


# A run's progress as another connection sees it, step for step as test_faults' PHASES (timeline()).
DB_PHASES = ("preparing", "embedding", "writing", "committed")


class DatabaseWatch:
    """How far an index run on the database at `url` has got (an index into DB_PHASES): preparing
    (before the writers' lock), reading and embedding (the lock held), writing (a document
    committed), committed (the run's totals; for a rebuild, its schema swapped in)."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.last = 0
        self.start = self._committed(), self._written()

    def close(self) -> None:
        self.conn.close()

    def _committed(self) -> str:
        """The transaction that last wrote the run's totals (built_at is only to the second)."""
        return str(self.conn.execute("SELECT xmin::text FROM citerag.meta WHERE key = 'built_at'").fetchone())

    def _written(self) -> int:
        """Chunk rows committed: the live schema's highest id, or a rebuild's rows in its own."""
        top = self.conn.execute("SELECT coalesce(max(id), 0) FROM citerag.chunks").fetchone()[0]
        if self.conn.execute("SELECT to_regclass('citerag_next.chunks')").fetchone()[0] is None:
            return int(top)
        return int(top) + self.conn.execute("SELECT count(*) FROM citerag_next.chunks").fetchone()[0]

    def _others(self) -> list[tuple[int, bool]]:
        """Every other connection to this database, and whether it holds an advisory lock."""
        return self.conn.execute(
            "SELECT a.pid, EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory') "
            "FROM pg_stat_activity a WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
        ).fetchall()

    def phase(self) -> int:
        try:
            if self._committed() != self.start[0]:
                self.last = 3
            elif self._written() != self.start[1]:
                self.last = 2
            elif any(locked for _, locked in self._others()):
                self.last = 1
        except psycopg.errors.DatabaseError:  # the tables being swapped in this instant: as before
            pass
        return self.last

    def reached(self, phase: int) -> Callable[[], bool]:
        return lambda: self.phase() >= phase

    def settled(self) -> bool:
        """A killed run's server process gone: nothing it sent can still commit."""
        return not self._others()


def _snapshot(url: str) -> Snapshot:
    """What the database index holds (doc → chunk id → text), after checking its totals."""
    _consistent(url)
    with psycopg.connect(url) as conn:
        out: Snapshot = {doc: {} for (doc,) in conn.execute("SELECT doc FROM citerag.documents")}
        for doc, chunk_id, text in conn.execute("SELECT doc, chunk_id, text FROM citerag.chunks"):
            out[doc][chunk_id] = text
        return out


class Copies:
    """Databases copied from one (CREATE DATABASE … TEMPLATE: a fresh copy of the old index in a
    fraction of a second), dropped by `drop_all`."""

    def __init__(self, url: str) -> None:
        self.url, self.names = url, []
        self.source = url.rsplit("/", 1)[1]

    def copy(self) -> str:
        name = f"{self.source}_{len(self.names)}"
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {self.source}")
        self.names.append(name)
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def drop_all(self) -> None:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            for name in self.names:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _change(docs: Path) -> None:
    """test_faults' change: one document edited, one removed, two added."""
    edited = docs / "gen_000.txt"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n\n" + REVISION, encoding="utf-8")
    (docs / "gen_001.txt").unlink()
    grow(docs, range(3, 5))


def _run(url: str, docs: Path, rebuild: bool) -> Child:
    """`rag index` of `docs` into `url` in a process forked with the model loaded."""
    return Child(partial(build_index, [docs], Config(store=url), rebuild=rebuild))


@pytest.mark.parametrize("rebuild", [False, True])
def test_kill_9_at_6_points_of_a_run_leaves_every_document_whole_and_searchable(
    pg_url: str, tmp_path: Path, embedder: object, rebuild: bool
) -> None:
    """Kill points chosen as test_faults chooses them: three at random moments of a whole run, the
    others triggered (the lock taken and the documents being read and embedded, a document just
    committed, the totals just committed). After each: every document as it was or as it is now (a
    rebuild: the whole index old or new), the totals agreeing, the index answering. A killed run's
    leftovers are the next run's to finish; a run that ends before its kill point is tried again."""
    docs = tmp_path / "docs"  # test_faults' small documents: a run takes about a second
    docs.mkdir()
    grow(docs, range(3))
    build_index([docs], Config(store=pg_url))
    old = _snapshot(pg_url)
    _change(docs)
    copies = Copies(pg_url)
    try:
        reference = copies.copy()
        watch = DatabaseWatch(reference)
        t = timeline(_run(reference, docs, rebuild), watch)
        watch.close()
        new = _snapshot(reference)
        assert set(new) == set(old) - {"gen_001.txt"} | {"gen_003.txt", "gen_004.txt"}
        assert new["gen_000.txt"] != old["gen_000.txt"] and all(new.values())
        rng = random.Random(17)
        plan = [0, 0, 0, 1, 2, 3]  # the phase each kill waits for; 0: a random moment
        rng.shuffle(plan)
        duration = t[4]
        url = copies.copy()
        kills: list[tuple[str, str]] = []  # (phase the run was killed in, state it left)
        for _ in range(len(plan) + 10):
            if not plan:
                break
            phase = plan.pop()
            delay = (
                rng.random() * duration if phase == 0 else rng.uniform(0, t[2] - t[1]) if phase == 1 else 0.0
            )
            watch = DatabaseWatch(url)
            started = time.monotonic()
            child = _run(url, docs, rebuild)
            killed = kill_when(child, watch.reached(phase), delay)
            where = DB_PHASES[watch.phase()] if killed else "finished"
            _wait_for(watch.settled, 30, "the killed run's connection closing")
            watch.close()
            got = _snapshot(url)
            assert (got in (old, new)) if rebuild else mixed_documents(old, new, got) == [], where
            state = "new" if got == new else "old" if got == old else "mixed"
            engine = Engine(Config(store=url))
            try:
                assert engine.search("child protection").passages
            finally:
                engine.close()
            assert state == "new" or where not in ("committed", "finished")
            if killed:
                kills.append((where, state))
            else:
                assert child.wait() == 0, "a run failed"
                duration = min(duration, time.monotonic() - started)
            if not killed or (phase == 2 and where != "writing"):  # ended first, or wrote all first
                plan.append(phase)
            if state == "new":  # start again from the old index
                url = copies.copy()
        assert len(kills) >= 6, f"runs kept finishing before their kill point: {kills}"
        assert {where for where, _ in kills} >= {"writing", "committed"}, kills
        build_index([docs], Config(store=url), rebuild=rebuild)  # the next run finishes the work
        assert _snapshot(url) == new
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regnamespace('citerag_next')").fetchone() == (None,)
        print(f"kills (phase, state left): {kills}")
    finally:
        copies.drop_all()


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
