"""The database store against a real PostgreSQL with pgvector (tests/postgres_fixtures.py): the same
chunks, BM25 scores and top passages as the folder store, incremental updates and removals, and
the clear one-line refusals of a bad URL, a refused connection and a database without pgvector."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rag.config import Config
from rag.engine import Engine
from rag.errors import UserError
from rag.store import build_index, open_reader
from tests.conftest import ROOT, SEEDS, run_rag
from tests.postgres_fixtures import ADMIN

QUESTIONS = [
    json.loads(line)["question"]
    for name in ("seed_questions.jsonl", "seed_questions_users.jsonl")
    for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines()
    if line.strip()
]


@pytest.fixture(scope="module")
def pg_seed(postgres_server: str, embedder: object) -> Iterator[Config]:
    """The seeds indexed into a database of this module's (read-only for the tests)."""
    name = "test_seed_module"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    config = Config(store=postgres_server.rsplit("/", 1)[0] + f"/{name}")
    build_index([SEEDS], config)
    yield config
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_the_database_holds_the_folders_chunks(pg_seed: Config, seed_index: Config) -> None:
    folder, database = open_reader(seed_index), open_reader(pg_seed)
    try:
        assert list(database.chunks()) == list(folder.chunks())
        assert database.documents() == folder.documents()
        assert database.dropped() == folder.dropped()
        assert database.manifest["settings"] == folder.manifest["settings"]
        doc = folder.documents()[0]["doc"]
        assert database.document_text(doc) == folder.document_text(doc)
    finally:
        folder.close()
        database.close()


def test_bm25_scores_match_the_folders(pg_seed: Config, seed_index: Config) -> None:
    """The same passages with the same BM25 scores (bm25s's float32 against SQL's float8)."""
    folder, database = open_reader(seed_index), open_reader(pg_seed)
    try:
        for question in [*QUESTIONS, "children children", "Cockell Cockell Ofsted"]:
            f = folder.lexical.search(question, 50)
            d = database.lexical.search(question, 50)
            f_rows, d_rows = folder.rows([r for r, _ in f]), database.rows([r for r, _ in d])
            assert [s for _, s in d] == pytest.approx([s for _, s in f], rel=1e-5), question
            # the same passage for each score (equal scores are ordered by row id, which each backend
            # numbers its own way)
            f_ids = {f_rows[r]["chunk_id"]: s for r, s in f}
            assert {d_rows[r]["chunk_id"]: s for r, s in d} == pytest.approx(f_ids, rel=1e-5), question
        terms = ["child", "cockel", "ofst", "zzzunknown"]
        assert database.lexical.idf(terms) == pytest.approx(folder.lexical.idf(terms), rel=1e-6)
    finally:
        folder.close()
        database.close()


def test_search_gives_the_folders_top_passages(pg_seed: Config, seed_index: Config) -> None:
    """Every evaluation question: the same top passage, and top five, as the folder store."""
    folder, database = Engine(seed_index), Engine(pg_seed)
    try:
        differ = []
        for question in QUESTIONS:
            f = [p.chunk_id for p in folder.search(question).passages]
            d = [p.chunk_id for p in database.search(question).passages]
            if f[:1] != d[:1]:
                differ.append(question)
        assert len(differ) <= 0.05 * len(QUESTIONS), differ
        question = QUESTIONS[0]
        assert database.ask(question).to_dict()["answer"] == folder.ask(question).to_dict()["answer"]
    finally:
        folder.close()
        database.close()


def test_reindexing_updates_and_removes(pg_url: str, corpus: Path, embedder: object) -> None:
    config = Config(store=pg_url)
    first = build_index([corpus], config)
    assert (first.documents, len(first.added)) == (5, 5)
    assert build_index([corpus], config).changed == 0
    target = sorted(corpus.iterdir())[0]
    target.write_text(
        "The great airship sheds at Cardington in Bedfordshire were built for the airship programme of "
        "the 1920s. The R101 airship was housed in the larger of the two sheds before its last flight, "
        "and the sheds still stand beside the village today as a reminder of that era.\n",
        encoding="utf-8",
    )
    gone = sorted(corpus.iterdir())[1]
    gone.unlink()
    report = build_index([corpus], config)
    assert (report.updated, report.removed, report.empty) == ([target.name], [gone.name], [])
    engine = Engine(config)
    try:
        top = engine.search("Where was the R101 airship housed?").passages[0]
        assert top.doc == target.name and "Cardington" in top.text
        assert all(p.doc != gone.name for q in QUESTIONS[:10] for p in engine.search(q).passages)
        assert len(engine.reader.documents()) == 4
    finally:
        engine.close()
    with psycopg.connect(pg_url) as conn:  # BM25's totals moved with the chunks
        totals = conn.execute("SELECT chunks, tokens FROM citerag.corpus").fetchone()
        actual = conn.execute("SELECT count(*), sum(length) FROM citerag.chunks").fetchone()
        assert totals == actual
        orphans = conn.execute(
            "SELECT count(*) FROM citerag.postings p LEFT JOIN citerag.chunks c ON c.id = p.chunk "
            "WHERE c.id IS NULL"
        ).fetchone()
        assert orphans == (0,)


def test_other_settings_ask_for_a_rebuild_which_replaces_the_index(
    pg_url: str, corpus: Path, embedder: object
) -> None:
    build_index([corpus], Config(store=pg_url))
    other = Config(store=pg_url, chunk_tokens=120)
    with pytest.raises(UserError, match=r"other settings .*chunk_tokens.*rag index --rebuild"):
        build_index([corpus], other)
    with pytest.raises(UserError, match="rag index --rebuild"):
        Engine(other)
    report = build_index([corpus], other, rebuild=True)
    assert report.documents == 5
    engine = Engine(other)  # the rebuilt index is the live one
    engine.close()
    with psycopg.connect(pg_url) as conn:
        schemas = {
            r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'citerag%'")
        }
        assert schemas == {"citerag"}


def test_a_table_version_from_another_program_asks_for_a_rebuild(
    pg_url: str, corpus: Path, embedder: object
) -> None:
    config = Config(store=pg_url)
    build_index([corpus], config)
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE citerag.meta SET value = '999' WHERE key = 'version'")
    result = run_rag("search", "children", "--store", pg_url)
    assert result.returncode == 2
    assert "table version 999" in result.stderr and "rag index --rebuild" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://postgres@127.0.0.1:1/citerag", "is unreachable"),  # refused
        ("postgresql://postgres@127.0.0.1:55432/no_such_database", 'database "no_such_database" does not'),
        ("postgresql://postgres@127.0.0.1:55432/citerag?sslmode=nonsense", "invalid"),
    ],
)
def test_a_wrong_database_is_one_clear_line(postgres_server: str, url: str, expected: str) -> None:
    result = run_rag("search", "children", "--store", url)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rag: error:") and expected in lines[0], lines


def test_a_password_is_never_printed(postgres_server: str) -> None:
    url = "postgresql://postgres:s3cret-pw@127.0.0.1:1/citerag"
    result = run_rag("index", "seeds", "--store", url)
    assert result.returncode == 2 and "s3cret-pw" not in result.stderr + result.stdout
    assert "postgresql://postgres@127.0.0.1:1/citerag" in result.stderr


def test_a_store_that_is_no_database_url_is_refused() -> None:
    with pytest.raises(UserError, match="store must be"):
        Config(store="mysql://localhost/x")


def test_a_database_without_pgvector_is_one_clear_line(pg_url: str) -> None:
    """A role that may not create extensions, on a database that has none."""
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS citerag_plain")
        admin.execute("CREATE ROLE citerag_plain LOGIN")
    try:
        url = pg_url.replace("postgres@", "citerag_plain@")
        result = run_rag("index", "seeds", "--store", url)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "has no pgvector extension" in lines[0], lines
    finally:
        with psycopg.connect(ADMIN.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as db:
            db.execute("DROP OWNED BY citerag_plain")
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute("DROP ROLE citerag_plain")


def test_the_cli_indexes_searches_and_inspects_a_database(pg_url: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    env_result = run_rag("index", str(docs), "--json", "--store", pg_url)
    assert env_result.returncode == 0, env_result.stderr
    assert json.loads(env_result.stdout)["documents"] == 5
    settings = tmp_path / "settings.toml"
    settings.write_text(f'store = "{pg_url}"\n', encoding="utf-8")
    inspect = run_rag("inspect", "--config", str(settings))
    assert inspect.returncode == 0 and len(inspect.stdout.splitlines()) > 5
    search = run_rag("search", "Who chaired the Cleveland inquiry?", "--json", "--config", str(settings))
    assert search.returncode == 0 and json.loads(search.stdout)["passages"]


def test_an_index_folder_is_copied_into_a_database_without_embedding(pg_url: str, seed_index: Config) -> None:
    result = run_rag("index", "--from", str(seed_index.index_dir), "--store", pg_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("5 documents, ")
    copied = Config(store=pg_url)
    folder, database = open_reader(seed_index), open_reader(copied)
    try:
        assert list(database.chunks()) == list(folder.chunks())
        rows_f, rows_d = (
            folder.rows(list(range(1, 100)), vectors=True),
            database.rows(list(range(1, 100)), True),
        )
        by_chunk = {r["chunk_id"]: r for r in rows_d.values()}
        for r in rows_f.values():
            assert (by_chunk[r["chunk_id"]]["sentence_vectors"] == r["sentence_vectors"]).all()
            assert (by_chunk[r["chunk_id"]]["vector"] == r["vector"]).all()
    finally:
        folder.close()
        database.close()
    again = run_rag("index", "--from", str(seed_index.index_dir), "--store", pg_url)
    assert again.returncode == 0 and again.stdout.startswith("0 documents, 0 chunks")
    assert run_rag("index", "--from", str(seed_index.index_dir)).returncode == 2  # no database given
