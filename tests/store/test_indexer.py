"""Index building: incremental updates, FAISS and SQLite in sync, crash safety, bad files."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag.config import Config
from rag.errors import UserError
from rag.store import IndexReader, IndexWriter, current_generation
from rag.store.embed import Embedder
from rag.store.indexer import build_index
from tests.conftest import SEEDS, run_rag

NOISE = [
    "replica watches",
    "Skip over Navigation",
    "Call local rate",
    "Newsletter Sign Up",
    "Dear Theresa May",
    "Tags assigned",
    "Next Upcoming Event",
    "Back to News Items Index",
]


Snapshot = dict[str, dict[str, str]]  # doc → chunk id → chunk text


def snapshot(config: Config) -> Snapshot:
    """What the index holds (opened as readers open it, checksums verified), after checking that
    FAISS and BM25 hold exactly the SQLite chunks: a build that mixed two states fails here."""
    reader = IndexReader(config.index_dir)
    try:
        rows = reader.db.execute("SELECT id, doc, chunk_id, text FROM chunks").fetchall()
        faiss_ids = set(faiss.vector_to_array(reader.faiss.id_map).tolist())
        assert faiss_ids == {r[0] for r in rows}
        assert reader.faiss.ntotal == len(rows)
        assert sorted(reader.lexical.ids.tolist()) == sorted(faiss_ids)
        out: Snapshot = {d["doc"]: {} for d in reader.documents()}
        for _, doc, chunk_id, text in rows:
            out[doc][chunk_id] = text
        return out
    finally:
        reader.close()


def test_seed_index_is_complete_and_clean(seed_index: Config) -> None:
    state = snapshot(seed_index)
    assert sorted(state) == sorted(p.name for p in SEEDS.iterdir())
    reader = IndexReader(seed_index.index_dir)
    texts = " ".join(c.text for c in reader.chunks()).lower()
    assert reader.manifest["settings"]["model"] == "all-MiniLM-L6-v2"
    assert reader.manifest["dimension"] == 384
    reader.close()
    for noise in NOISE:
        assert noise.lower() not in texts


def test_faiss_finds_a_chunk_by_its_own_text(seed_index: Config, embedder: Embedder) -> None:
    reader = IndexReader(seed_index.index_dir)
    chunk = next(c for c in reader.chunks() if "every 10 days" in c.text)
    _, ids = reader.faiss.search(embedder.encode([chunk.text]), 1)
    row = reader.db.execute("SELECT chunk_id FROM chunks WHERE id = ?", (int(ids[0][0]),)).fetchone()
    reader.close()
    assert row[0] == chunk.chunk_id


def test_incremental_add_change_delete(corpus: Path, fresh_config: Config, embedder: Embedder) -> None:
    first = build_index([corpus], fresh_config)
    assert len(first.added) == 5 and first.changed == 5
    before = snapshot(fresh_config)

    gen = current_generation(fresh_config.index_dir)
    unchanged = build_index([corpus], fresh_config)
    assert unchanged.changed == 0
    assert current_generation(fresh_config.index_dir) == gen  # nothing rewritten

    (corpus / "new.md").write_text("# Fostering\n\n" + "Foster carers need support and training. " * 20)
    changed = corpus / "003_e0cbf722bd5f4062.txt"
    changed.write_text(changed.read_text().replace("Children Act 1989", "Children Act 2004"))
    (corpus / "004_e56172278690337e.txt").unlink()
    report = build_index([corpus], fresh_config)
    assert (report.added, report.updated, report.removed) == (
        ["new.md"],
        ["003_e0cbf722bd5f4062.txt"],
        ["004_e56172278690337e.txt"],
    )
    after = snapshot(fresh_config)
    assert "004_e56172278690337e.txt" not in after and "new.md" in after
    for doc in ("000_44c9ebb48a3e38a5.txt", "001_9915dc2b03620208.txt", "002_325d7f82ffdefe65.txt"):
        assert after[doc] == before[doc]
    assert after["003_e0cbf722bd5f4062.txt"] != before["003_e0cbf722bd5f4062.txt"]
    reader = IndexReader(fresh_config.index_dir)
    assert any("Children Act 2004" in c.text for c in reader.chunks())
    reader.close()


def test_a_touched_but_identical_file_is_not_reembedded(corpus: Path, fresh_config: Config) -> None:
    build_index([corpus], fresh_config)
    os.utime(corpus / "000_44c9ebb48a3e38a5.txt", ns=(1, 1))
    assert build_index([corpus], fresh_config).changed == 0


def test_indexing_another_folder_keeps_the_first(corpus: Path, tmp_path: Path, fresh_config: Config) -> None:
    build_index([corpus], fresh_config)
    other = tmp_path / "other"
    other.mkdir()
    (other / "extra.txt").write_text(
        "Kinship carers look after the children of relatives when the parents cannot, and many "
        "councils pay them an allowance for it.\n"
    )
    report = build_index([other], fresh_config)
    assert report.added == ["extra.txt"] and report.removed == [] and not report.errors
    assert report.documents == 6


def test_repeats_across_documents_drop_footers_but_keep_shared_prose(tmp_path: Path) -> None:
    """Three versions of one report share their prose (content) and a footer line (furniture)."""
    docs = tmp_path / "versions"
    docs.mkdir()
    prose = (
        "The review found that referrals rose sharply after the school term began, and that most "
        "came from teachers who had noticed changes in attendance and behaviour over several weeks."
    )
    for v in range(3):
        (docs / f"report_v{v}.txt").write_text(
            f"Version {v} of the annual report on local safeguarding arrangements in the county.\n\n"
            f"{prose}\n\nPrinted by the county council design studio\n"
        )
    config = Config(index_dir=tmp_path / "idx")
    build_index([docs], config)
    reader = IndexReader(config.index_dir)
    texts = [c.text for c in reader.chunks()]
    dropped = reader.dropped()
    reader.close()
    assert sum("referrals rose sharply" in t for t in texts) == 3
    assert not any("design studio" in t for t in texts)
    assert all(any(d["reason"] == "repeated across documents" for d in ds) for ds in dropped.values())


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_other_faiss_kinds_stay_in_sync(corpus: Path, tmp_path: Path, kind: str) -> None:
    config = Config(index_dir=tmp_path / kind, faiss_index=kind)
    build_index([corpus], config)
    (corpus / "001_9915dc2b03620208.txt").unlink()
    build_index([corpus], config)
    state = snapshot(config)
    assert len(state) == 4
    reader = IndexReader(config.index_dir)
    assert kind.upper() in type(faiss.downcast_index(reader.faiss.index)).__name__.upper()
    reader.close()


def test_settings_mismatch_asks_for_a_rebuild(corpus: Path, fresh_config: Config) -> None:
    build_index([corpus], fresh_config)
    other = fresh_config.with_(chunk_tokens=120)
    with pytest.raises(UserError, match=r"chunk_tokens: 200 → 120.*rag index --rebuild"):
        build_index([corpus], other)
    rebuilt = build_index([corpus], other, rebuild=True)
    assert rebuilt.documents == 5
    reader = IndexReader(other.index_dir)
    assert reader.manifest["settings"]["chunk_tokens"] == 120
    reader.close()


def test_bad_files_are_reported_and_the_rest_indexed(corpus: Path, fresh_config: Config) -> None:
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (corpus / "empty.md").write_text("   \n")
    latin = (
        "Le café des enfants protège les familles du quartier depuis dix ans. "
        "Chaque mercredi, une éducatrice reçoit les parents inquiets et leur répond. "
        "La mairie a financé l'accueil après une étude menée auprès des écoles."
    )
    (corpus / "latin.txt").write_bytes(latin.encode("latin-1"))
    (corpus / "notes.docx").write_bytes(b"PK\x03\x04")
    warnings: list[str] = []
    report = build_index([corpus], fresh_config, warn=warnings.append)
    assert report.documents == 6
    assert any("binary.txt" in e and "binary" in e for e in report.errors)
    assert any("empty.md" in e and "empty" in e for e in report.errors)
    assert any("notes.docx" in w and "not a readable Word document" in w for w in warnings)
    reader = IndexReader(fresh_config.index_dir)
    assert any("café des enfants protège" in c.text for c in reader.chunks())
    reader.close()


def test_a_file_turned_unreadable_keeps_its_indexed_version(corpus: Path, fresh_config: Config) -> None:
    build_index([corpus], fresh_config)
    (corpus / "003_e0cbf722bd5f4062.txt").write_bytes(b"\x00\x01garbage\x00")
    warnings: list[str] = []
    report = build_index([corpus], fresh_config, warn=warnings.append)
    assert report.changed == 0 and report.documents == 5
    assert any("keeping the indexed version" in w for w in warnings)


def test_a_second_writer_is_refused(corpus: Path, fresh_config: Config) -> None:
    with (
        IndexWriter(fresh_config.index_dir, fresh_config.index_settings()),
        pytest.raises(UserError, match="another `rag index`"),
    ):
        build_index([corpus], fresh_config)


def test_reading_an_absent_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no index in"):
        IndexReader(tmp_path / "nothing")


def test_vectors_are_unit_length(seed_index: Config) -> None:
    reader = IndexReader(seed_index.index_dir)
    vectors = reader.faiss.index.reconstruct_n(0, reader.faiss.ntotal)
    reader.close()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_bm25_holds_exactly_the_chunks_of_faiss(corpus: Path, fresh_config: Config) -> None:
    """Lexical and dense indexes stay in step through add, change and delete."""
    build_index([corpus], fresh_config)
    (corpus / "000_44c9ebb48a3e38a5.txt").unlink()
    (corpus / "kin.txt").write_text(
        "Kinship carers such as grandparents raise many children whose parents cannot look after "
        "them. Councils pay them allowances that vary widely from one area to the next, and many "
        "receive no training or support at all."
    )
    build_index([corpus], fresh_config)
    reader = IndexReader(fresh_config.index_dir)
    try:
        faiss_ids = set(faiss.vector_to_array(reader.faiss.id_map).tolist())
        assert set(reader.lexical.ids.tolist()) == faiss_ids
        best_id, _ = reader.lexical.search("grandparents kinship", 1)[0]
        row = reader.db.execute("SELECT doc FROM chunks WHERE id = ?", (best_id,)).fetchone()
        assert row[0] == "kin.txt"
        assert not reader.lexical.search("Cockell Harrogate", 5)  # the deleted article is gone
    finally:
        reader.close()


# --- folders with nothing usable, documents with no text left -----------------------------------

HEADING_ONLY = "Annual report\n"
NOISE_ONLY = "Skip over Navigation\n\nNewsletter Sign Up\n\nCall local rate\n\nTags assigned\n"


def write_refused(folder: Path) -> Path:
    """Three files that are each refused: binary, empty, a corrupt .docx."""
    folder.mkdir()
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (folder / "empty.md").write_text("   \n")
    (folder / "notes.docx").write_bytes(b"PK\x03\x04")
    return folder


def test_a_folder_of_only_bad_files_says_so_and_leaves_the_index_intact(
    corpus: Path, tmp_path: Path, fresh_config: Config
) -> None:
    build_index([corpus], fresh_config)
    before, gen = snapshot(fresh_config), current_generation(fresh_config.index_dir)
    bad = write_refused(tmp_path / "bad")
    warnings: list[str] = []
    message = r"^no document could be indexed from \S*bad: every file was refused \(3 warnings above\); "
    with pytest.raises(UserError, match=message + "the index in .* was not changed$"):
        build_index([bad], fresh_config, warn=warnings.append)
    assert len(warnings) == 3  # each file's own reason came first
    assert current_generation(fresh_config.index_dir) == gen
    assert snapshot(fresh_config) == before


def test_a_folder_of_only_bad_files_builds_no_index(tmp_path: Path, fresh_config: Config) -> None:
    bad = write_refused(tmp_path / "bad")
    with pytest.raises(
        UserError, match=r"bad: every file was refused \(3 warnings above\); no index was built"
    ):
        build_index([bad], fresh_config)
    assert current_generation(fresh_config.index_dir) is None
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        UserError, match=r"from .*empty: no \.csv, .*\.txt, \.xlsx files there; no index was built"
    ):
        build_index([tmp_path / "empty"], fresh_config)


@pytest.mark.parametrize("text", [HEADING_ONLY, NOISE_ONLY], ids=["heading", "noise"])
def test_a_document_with_no_text_left_after_cleaning_is_reported(
    corpus: Path, fresh_config: Config, text: str
) -> None:
    """It loads, so it is recorded (listed, removable, not re-read until it changes), but a warning
    names it: nothing from it can be found or cited."""
    (corpus / "hollow.txt").write_text(text)
    warnings: list[str] = []
    report = build_index([corpus], fresh_config, warn=warnings.append)
    expected = f"{(corpus / 'hollow.txt').resolve()}: no text left after cleaning; nothing indexed"
    assert warnings == [expected] and report.errors == [expected]
    assert report.documents == 6 and "hollow.txt" in report.added  # recorded, with no chunks
    reader = IndexReader(fresh_config.index_dir)
    try:
        assert "hollow.txt" not in {c.doc for c in reader.chunks()}
    finally:
        reader.close()
    assert build_index([corpus], fresh_config, warn=warnings.append).changed == 0  # not re-read


def test_a_folder_of_documents_without_text_is_indexed_with_a_warning_each(
    tmp_path: Path, fresh_config: Config
) -> None:
    """Not refused (they load), so the build completes, but every file is named as empty."""
    folder = tmp_path / "hollow"
    folder.mkdir()
    (folder / "heading.md").write_text(HEADING_ONLY)
    (folder / "noise.txt").write_text(NOISE_ONLY)
    warnings: list[str] = []
    report = build_index([folder], fresh_config, warn=warnings.append)
    assert (report.documents, report.chunks) == (2, 0)
    assert sorted(w.rsplit("/", 1)[1] for w in warnings) == [
        "heading.md: no text left after cleaning; nothing indexed",
        "noise.txt: no text left after cleaning; nothing indexed",
    ]


def test_rag_index_of_only_bad_files_exits_non_zero_with_a_plain_message(
    corpus: Path, tmp_path: Path, fresh_config: Config
) -> None:
    """The command line: each file's warning, then one error line; exit 2; the index unchanged."""
    build_index([corpus], fresh_config)
    gen = current_generation(fresh_config.index_dir)
    bad = write_refused(tmp_path / "bad")
    result = run_rag("index", str(bad), "--index-dir", str(fresh_config.index_dir))
    assert result.returncode == 2 and not result.stdout
    *warned, last = result.stderr.splitlines()
    assert len(warned) == 3 and all(line.startswith("rag: warning: ") for line in warned)
    assert last.startswith("rag: error: no document could be indexed from ")
    assert "was not changed" in last and "build one" not in last
    assert current_generation(fresh_config.index_dir) == gen
