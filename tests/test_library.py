"""rag/library.py: uploads are checked, named safely and indexed; removal; the served index kept current."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest

from rag.config import Config
from rag.errors import UserError
from rag.library import Library, add_files, ensure_index, remove_document, safe_name, uploads_dir
from rag.store import IndexReader

FACT = "The Zorblatt Institute for Child Welfare was founded in 1931 by Elena Marchetti in Tromsø."


def docs(config: Config) -> dict[str, str]:
    reader = IndexReader(config.index_dir)
    try:
        return {d["doc"]: d["path"] for d in reader.documents()}
    finally:
        reader.close()


@pytest.fixture
def served(tmp_path: Path, seed_index: Config) -> Config:
    """A private copy of the seed index, as `rag serve` would serve it."""
    shutil.copytree(seed_index.index_dir, tmp_path / "index")
    return seed_index.with_(index_dir=tmp_path / "index")


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    folder = tmp_path / "browser-upload"
    folder.mkdir()
    path = folder / "zorblatt.md"
    path.write_text(f"# The Zorblatt Institute\n\n{FACT}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notes.md", "notes.md"),
        ("../../etc/evil.md", "evil.md"),
        ("..\\..\\windows\\evil.txt", "evil.txt"),
        ("/abs/path/Report 2024 (final).PDF", "Report 2024 (final).PDF"),
        ("we<ird>|na;me.html", "we_ird__na_me.html"),
        ("Tromsø notes.htm", "Tromsø notes.htm"),
    ],
)
def test_safe_name_keeps_the_base_name_only(name: str, expected: str) -> None:
    assert safe_name(name) == expected


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (".hidden.md", "hidden"),
        ("../..", "hidden"),
        ("folder/", "empty"),
        ("program.exe", "unsupported file type .exe"),
        ("README", "unsupported file type (none)"),
        ("x" * 200 + ".md", "longer than"),
    ],
)
def test_safe_name_refuses_hidden_odd_and_unsupported_names(name: str, problem: str) -> None:
    with pytest.raises(UserError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        safe_name(name)


def test_an_upload_is_copied_into_uploads_indexed_and_answerable(served: Config, upload: Path) -> None:
    before = set(docs(served))
    report = add_files([upload], served)
    assert report.added == ["zorblatt.md"] and not report.errors and not report.removed
    assert set(docs(served)) == before | {"zorblatt.md"}  # the seeds stay
    stored = uploads_dir(served) / "zorblatt.md"
    assert docs(served)["zorblatt.md"] == str(stored.resolve())
    assert [p.name for p in uploads_dir(served).iterdir()] == ["zorblatt.md"]  # no leftover part file
    library = Library(served)
    answer = library.engine().ask("Who founded the Zorblatt Institute?")
    assert not answer.abstained and "Elena Marchetti" in answer.answer
    assert answer.citations[0].doc == "zorblatt.md"


def test_bad_uploads_are_refused_with_one_line_and_nothing_written(
    served: Config, upload: Path, tmp_path: Path
) -> None:
    clash = tmp_path / "001_9915dc2b03620208.txt"
    clash.write_text("An upload named like a seed article.", encoding="utf-8")
    empty = tmp_path / "empty.md"
    empty.write_text("  \n", encoding="utf-8")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    shouting = tmp_path / "001_9915DC2B03620208.TXT"
    shouting.write_text("The same name in capitals.", encoding="utf-8")
    (tmp_path / "upper").mkdir()
    upload_upper = tmp_path / "upper" / "ZORBLATT.md"
    upload_upper.write_text(upload.read_text(encoding="utf-8"), encoding="utf-8")
    cases = [
        ([clash], "001_9915dc2b03620208.txt: the index already has a document of that name"),
        ([shouting], r"001_9915DC2B03620208.TXT: the index already has a document of that name \(001_9915dc"),
        ([upload, upload_upper], "ZORBLATT.md: given twice"),
        ([upload, empty], "empty.md: empty file"),
        ([binary], "binary.txt: looks binary"),
        ([upload, upload], "zorblatt.md: given twice"),
    ]
    for files, message in cases:
        with pytest.raises(UserError, match=message):
            add_files(files, served)
    with pytest.raises(UserError, match=r"zorblatt.md: too large \(0.0 MB, limit 1e-05 MB\)"):
        add_files([upload], served.with_(max_file_mb=0.00001))
    assert not uploads_dir(served).exists()
    assert "zorblatt.md" not in docs(served)


def test_remove_document_takes_an_upload_out_with_its_file(served: Config, upload: Path) -> None:
    add_files([upload], served)
    remove_document("zorblatt.md", served)
    assert "zorblatt.md" not in docs(served)
    assert not (uploads_dir(served) / "zorblatt.md").exists()
    seed = "000_44c9ebb48a3e38a5.txt"
    seed_path = Path(docs(served)[seed])
    remove_document(seed, served)
    assert seed not in docs(served) and seed_path.exists()  # a file outside uploads/ is never deleted
    with pytest.raises(UserError, match=r"no document 'nope\.md' in the index"):
        remove_document("nope.md", served)


def test_library_reopens_engines_and_old_ones_keep_answering(served: Config, upload: Path) -> None:
    library = Library(served)
    old = library.engine()
    assert library.engine() is old
    library.add_files([upload])
    new = library.engine()
    assert new is not old and "zorblatt.md" in {d["doc"] for d in library.documents()}
    # A question already holding the old engine still works: its generation is kept for it, and goes
    # once that engine is gone.
    replaced = old.reader.gen
    assert replaced.exists() and replaced != new.reader.gen
    assert old.ask("Who chaired the inquiry into the Cleveland child abuse cases?").citations
    del old
    gc.collect()
    assert not replaced.exists()
    library.remove("zorblatt.md")
    assert "zorblatt.md" not in {d["doc"] for d in library.documents()}
    assert library.engine(rerank=False).reranker is None


def test_ensure_index_builds_syncs_and_rebuilds_only_its_own_index(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text(f"{FACT}\n", encoding="utf-8")
    config = Config(index_dir=tmp_path / "index")
    ensure_index(config, seeds)  # missing: built from the seeds
    assert set(docs(config)) == {"a.txt"}
    uploads_dir(config).mkdir()
    (uploads_dir(config) / "b.md").write_text("The Quillfeather Society met in Aberdeen in 1887.\n")
    ensure_index(config, seeds)  # an upload left in the folder is indexed too
    assert set(docs(config)) == {"a.txt", "b.md"}
    ensure_index(config.with_(chunk_tokens=120), seeds)  # other settings: rebuilt, nothing lost
    assert set(docs(config)) == {"a.txt", "b.md"}

    other = tmp_path / "other-seeds"
    other.mkdir()
    (other / "c.txt").write_text("Unrelated text about the weather in Bergen.\n", encoding="utf-8")
    ensure_index(config.with_(chunk_tokens=120), other)  # not ours to fill with other seeds
    assert set(docs(config)) == {"a.txt", "b.md"}
    with pytest.raises(UserError, match="rebuild it with `rag index --rebuild`"):
        ensure_index(config, other)  # not ours to rebuild either
    with pytest.raises(UserError, match=r"no index in .* and no .*missing/ folder"):
        ensure_index(Config(index_dir=tmp_path / "none"), tmp_path / "missing")


# --- hostile uploads ------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[bool, int, int]]:
    """Every entry under `root`, links not followed: (is a link, size, modification time)."""
    out = {}
    for path in root.rglob("*"):
        st = path.lstat()
        out[str(path.relative_to(root))] = (path.is_symlink(), st.st_size, st.st_mtime_ns)
    return out


@pytest.mark.parametrize(
    ("name", "expected"),
    [("evil\x00.md", "evil_.md"), ("new\nline.md", "new_line.md"), ("C:\\Windows\\System32\\x.md", "x.md")],
)
def test_safe_name_turns_control_characters_into_underscores(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_hostile_uploads_are_refused_with_one_line_and_nothing_written(
    served: Config, tmp_path: Path
) -> None:
    """Links (to /etc/passwd, to a file outside the upload), a folder, an oversized file (sparse:
    no disk or time spent) and types that are not documents: each refused by name, in one line,
    before anything is read or written anywhere."""
    secret = tmp_path / "outside" / "secret.md"
    secret.parent.mkdir()
    secret.write_text(f"# Secret\n\n{FACT}\n", encoding="utf-8")
    folder = tmp_path / "browser-upload"
    folder.mkdir()
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    (folder / "notes.md").symlink_to(secret)
    (folder / "folder.md").mkdir()
    with (folder / "huge.txt").open("wb") as f:
        f.truncate(100_000_001)
    cases = {
        "passwd.txt": "passwd.txt: a symbolic link, not an uploaded file",
        "notes.md": "notes.md: a symbolic link, not an uploaded file",
        "folder.md": "folder.md: not a regular file",
        "huge.txt": "huge.txt: too large (100.0 MB, limit 100 MB)",
        "evil.sh": "evil.sh: unsupported file type .sh",
        "report.pdf.exe": "report.pdf.exe: unsupported file type .exe",
        "Makefile": "Makefile: unsupported file type (none)",
    }
    for name in ("evil.sh", "report.pdf.exe", "Makefile"):
        (folder / name).write_text(FACT, encoding="utf-8")
    before = snapshot(tmp_path)
    for name, message in cases.items():
        with pytest.raises(UserError) as error:
            add_files([folder / name], served)
        assert str(error.value).startswith(message) and "\n" not in str(error.value)
    assert snapshot(tmp_path) == before
    assert not uploads_dir(served).exists()


def test_names_with_folders_or_control_characters_are_stored_inside_uploads(
    served: Config, tmp_path: Path
) -> None:
    """`..`, drive letters and control characters in an uploaded name never steer the write: only
    the uploads folder (and the index beside it) changes."""
    folder = tmp_path / "browser-upload"
    folder.mkdir()
    names = ["..\\..\\escape.md", "C:\\Windows\\evil.md", "new\nline.md", "bell\x07and\x7fdel.txt"]
    for i, name in enumerate(names):
        (folder / name).write_text(
            f"The Quillfeather Society met {i + 2} times in Aberdeen in 1887 to plan a town library.\n"
        )
    outside = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("index")}
    report = add_files([folder / name for name in names], served)
    stored = ["bell_and_del.txt", "escape.md", "evil.md", "new_line.md"]
    assert report.added == stored and not report.errors
    assert sorted(p.name for p in uploads_dir(served).iterdir()) == stored
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("index")} == outside


def test_links_planted_in_the_uploads_folder_are_replaced_not_written_through(
    served: Config, upload: Path, tmp_path: Path
) -> None:
    """A link left where the upload's part file or final name goes must not carry the write outside."""
    target = tmp_path / "outside.md"
    target.write_text("untouched\n", encoding="utf-8")
    uploads_dir(served).mkdir(parents=True)
    (uploads_dir(served) / ".zorblatt.md.part").symlink_to(target)
    (uploads_dir(served) / "zorblatt.md").symlink_to(target)
    add_files([upload], served)
    assert target.read_text(encoding="utf-8") == "untouched\n"
    stored = uploads_dir(served) / "zorblatt.md"
    assert not stored.is_symlink() and FACT in stored.read_text(encoding="utf-8")
    assert [p.name for p in uploads_dir(served).iterdir()] == ["zorblatt.md"]
