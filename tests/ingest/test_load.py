"""Loader tests on real files in tmp_path, read with the real libraries (no mocks).

Every offset the tool reports points into `Document.text`, so the text of a plain file must be
the decoded file itself, and a file that cannot be used must fail as a one-line LoadError.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fpdf import FPDF

from rag.errors import LoadError, UserError
from rag.ingest.load import discover, load
from rag.types import Document


def write(path: Path, data: str | bytes) -> Path:
    """Create `path` (and its folders) holding `data`; str is written as UTF-8 bytes as-is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def load_file(path: Path, max_bytes: int | None = None) -> Document:
    """Load a file under its own name as doc id."""
    return load(path.name, path, max_bytes=max_bytes)


def make_pdf(path: Path, pages: list[str], title: str | None = None) -> Path:
    """A real PDF written by fpdf2: one page per entry, an empty entry gives a blank page."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 10, text)
    pdf.output(str(path))
    return path


# --- discover -------------------------------------------------------------------------------


def test_discover_walks_folders_recursively_with_relative_ids(tmp_path: Path) -> None:
    """Doc ids are paths relative to the folder given, so they survive moving the folder."""
    root = tmp_path / "docs"
    files = ["a.txt", "d.pdf", "sub/b.md", "sub/deep/c.html", "sub/deep/e.htm"]
    for name in files:
        write(root / name, "x")
    found, warnings = discover([root])
    assert [doc for doc, _ in found] == sorted(files)
    assert all(path == (root / doc).resolve() for doc, path in found)
    assert warnings == []


def test_discover_file_given_directly_is_named_by_its_file_name(tmp_path: Path) -> None:
    """A single file has no folder to be relative to: its id is its name."""
    path = write(tmp_path / "docs" / "sub" / "notes.md", "# Notes")
    found, warnings = discover([path])
    assert found == [("notes.md", path.resolve())]
    assert warnings == []


def test_discover_skips_unknown_types_with_one_warning_naming_each(tmp_path: Path) -> None:
    """The user must learn which files were ignored, one line per file."""
    root = tmp_path / "docs"
    write(root / "keep.txt", "x")
    unknown = [write(root / name, "x") for name in ("photo.heic", "sub/data.parquet", "README")]
    found, warnings = discover([root])
    assert [doc for doc, _ in found] == ["keep.txt"]
    assert len(warnings) == len(unknown)
    for path in unknown:
        assert sum(str(path) in w for w in warnings) == 1
    assert all("\n" not in w for w in warnings)


def test_discover_skips_hidden_files_and_folders_silently(tmp_path: Path) -> None:
    """Dot files (.git, editor swap files) are never documents, and not worth a warning."""
    root = tmp_path / "docs"
    write(root / "visible.txt", "x")
    for name in (".hidden.txt", ".git/notes.md", ".cache/deep/page.html", ".cache/blob.bin"):
        write(root / name, "x")
    found, warnings = discover([root])
    assert [doc for doc, _ in found] == ["visible.txt"]
    assert warnings == []


def test_discover_missing_path_is_a_user_error_naming_it(tmp_path: Path) -> None:
    """A typo in a path must be reported, not silently index nothing."""
    missing = tmp_path / "no-such-folder"
    with pytest.raises(UserError, match=re.escape(str(missing))):
        discover([missing])


def test_discover_keeps_the_first_of_two_files_with_the_same_id(tmp_path: Path) -> None:
    """Two folders holding `notes.txt` would collide in the index; the second is reported."""
    first = write(tmp_path / "a" / "notes.txt", "x")
    second = write(tmp_path / "b" / "notes.txt", "y")
    found, warnings = discover([first.parent, second.parent])
    assert found == [("notes.txt", first.resolve())]
    assert len(warnings) == 1
    assert str(second) in warnings[0]


def test_broken_symlink_is_a_load_error(tmp_path: Path) -> None:
    """We run as root, so chmod cannot make a file unreadable; a dangling link can."""
    root = tmp_path / "docs"
    root.mkdir()
    link = root / "gone.txt"
    link.symlink_to(root / "deleted.txt")
    found, _ = discover([root])
    assert [doc for doc, _ in found] == ["gone.txt"]
    with pytest.raises(LoadError, match="cannot read"):
        load("gone.txt", link)
    with pytest.raises(UserError, match=re.escape(str(link))):
        discover([link])


# --- plain text -----------------------------------------------------------------------------


def test_txt_text_is_the_decoded_file_exactly(tmp_path: Path) -> None:
    """Offsets are character positions in the file: no newline translation, no stripping."""
    raw = (
        "\n  Leading blank line and indent.\r\n"
        "Windows line end above, “curly quotes”, café, tab\there.  \r\n\r\n"
        "Trailing spaces and a final newline.   \n"
    ).encode()
    path = write(tmp_path / "notes.txt", raw)
    doc = load_file(path)
    assert doc.text == raw.decode("utf-8")
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()
    assert doc.size == len(raw)
    assert (doc.doc, doc.path, doc.kind) == ("notes.txt", str(path), "txt")
    assert doc.title is None and doc.page_starts == ()


def test_txt_utf8_bom_is_not_part_of_the_text(tmp_path: Path) -> None:
    """A BOM is an encoding marker, not a character at offset 0."""
    body = "Première ligne du rapport.\nSecond line.\n"
    raw = b"\xef\xbb\xbf" + body.encode()
    doc = load_file(write(tmp_path / "bom.txt", raw))
    assert doc.text == body
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()
    assert doc.size == len(raw)


MINUTES = (
    "Minutes of the meeting held at the café on 3 March.\n\n"
    "The chair said the committee’s work this year had been “difficult but rewarding” — "
    "especially the review of the naïve assumptions in last year’s budget.\n\n"
    "Members agreed the résumé of each candidate would be circulated. The treasurer reported "
    "a surplus of £1,200, to be spent on the community garden’s new fence.\n"
)
MINUTES_LATIN1 = (
    "Minutes of the meeting held at the café on 3 March.\n\n"
    "The chair said the committee's work this year had been difficult but rewarding, "
    "especially the review of the naïve assumptions in last year's budget.\n\n"
    "Members agreed the résumé of each candidate would be circulated. The façade of the hall "
    "needs repainting before winter.\n"
)
RUSSIAN = "Съешь же ещё этих мягких французских булок, да выпей чаю. Это текст в кодировке Windows.\n"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        pytest.param(RUSSIAN, "cp1251", id="cp1251-document"),
        pytest.param(MINUTES, "cp1252", id="cp1252-document"),
        pytest.param("The café — naïve as it sounds — opened in 1998.\n", "cp1252", id="cp1252-sentence"),
        pytest.param(MINUTES_LATIN1, "latin-1", id="latin1-document"),
    ],
)
def test_legacy_encoded_text_is_detected(tmp_path: Path, text: str, encoding: str) -> None:
    """Old Windows/Latin-1 files are common; mis-detection silently corrupts quoted text."""
    doc = load_file(write(tmp_path / "legacy.txt", text.encode(encoding)))
    assert doc.text == text


def test_binary_file_is_refused(tmp_path: Path) -> None:
    """A PNG renamed to .txt must not be indexed as mojibake."""
    raw = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(0).randbytes(500)
    with pytest.raises(LoadError, match="binary"):
        load_file(write(tmp_path / "image.txt", raw))


@pytest.mark.parametrize("raw", [b"", b"  \n\t\r\n   \n"], ids=["empty", "whitespace"])
def test_empty_file_is_refused(tmp_path: Path, raw: bytes) -> None:
    """Nothing to cite: the user is told the file is empty rather than getting zero chunks."""
    with pytest.raises(LoadError, match="empty"):
        load_file(write(tmp_path / "blank.txt", raw))


def test_file_over_max_bytes_is_refused_and_one_at_the_limit_loads(tmp_path: Path) -> None:
    """The size limit protects memory; it must not be off by one."""
    raw = ("A line of ordinary text for the size limit test.\n" * 40).encode()
    path = write(tmp_path / "big.txt", raw)
    with pytest.raises(LoadError, match="too large"):
        load_file(path, max_bytes=len(raw) - 1)
    assert load_file(path, max_bytes=len(raw)).text == raw.decode()


# --- markdown -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "title"),
    [
        ("Draft, do not circulate.\n\n# Flood report\n\nThe river rose.\n", "Flood report"),
        ("# Flood report #\n\nClosing hashes are not part of the title.\n", "Flood report"),
        ("## Background\n\n# Flood report\n", "Flood report"),
        ("No heading here, only a paragraph about the river.\n", None),
        ("#\n\nAn empty heading line must not pull in the next paragraph.\n", None),
    ],
    ids=["after-preamble", "closing-hashes", "after-h2", "no-heading", "empty-heading"],
)
def test_md_title_is_the_first_level_one_heading(tmp_path: Path, content: str, title: str | None) -> None:
    """The title labels citations; the text itself stays the file verbatim."""
    doc = load_file(write(tmp_path / "report.md", content))
    assert doc.kind == "md"
    assert doc.title == title
    assert doc.text == content


# --- HTML -----------------------------------------------------------------------------------

ARTICLE = [
    "The council has approved a new scheme of flood defences along the lower reaches of the "
    "river, after three winters in which the water rose over the embankment and into the old "
    "town.",
    "Engineers will raise the existing wall by half a metre and build a set of flood gates near "
    "the bridge, which can be closed within an hour when the river is forecast to rise.",
    "Residents who attended the public meeting said they welcomed the plan but asked for the "
    "work to be finished before the autumn rains, when the risk of flooding is highest.",
]
SCRIPT = "window.analyticsQueue.push('pageview');"
PAGE = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Flood defences along the river</title>
<script>var tracker = function () {{ {SCRIPT} }};</script></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li></ul></nav>
<article><h1>Flood defences along the river</h1>
{"".join(f"<p>{p}</p>{chr(10)}" for p in ARTICLE)}</article>
<footer>Copyright 2024 Town Council</footer>
</body></html>
"""


@pytest.mark.parametrize("suffix", [".html", ".htm"])
def test_html_yields_article_text_without_markup_or_script(tmp_path: Path, suffix: str) -> None:
    """Web pages are indexed by their readable text, never by code or tags."""
    doc = load_file(write(tmp_path / f"page{suffix}", PAGE))
    assert doc.kind == "html"
    for paragraph in ARTICLE:
        assert paragraph in doc.text
    assert "analyticsQueue" not in doc.text and "tracker" not in doc.text
    assert not re.search(r"<[a-z/!]", doc.text)
    assert doc.title == "Flood defences along the river"


# --- PDF ------------------------------------------------------------------------------------

PAGE_ONE = "The first page explains why the harbour wall was rebuilt in stone."
PAGE_TWO = "The second page lists the costs of the new lighthouse lamp."


def test_pdf_text_has_both_pages_and_page_numbers(tmp_path: Path) -> None:
    """Citations into PDFs name a page, so every offset must map to the right one."""
    path = make_pdf(tmp_path / "report.pdf", [PAGE_ONE, PAGE_TWO], title="Harbour report")
    doc = load_file(path)
    assert doc.kind == "pdf"
    assert doc.title == "Harbour report"
    assert len(doc.page_starts) == 2
    for page, sentence in enumerate([PAGE_ONE, PAGE_TWO], start=1):
        start = doc.text.index(sentence)
        assert doc.page_at(start) == page
        assert doc.page_at(start + len(sentence) - 1) == page


def test_pdf_without_text_is_refused(tmp_path: Path) -> None:
    """Scanned PDFs have no text layer; say so instead of indexing nothing."""
    with pytest.raises(LoadError, match="no extractable text"):
        load_file(make_pdf(tmp_path / "scan.pdf", [""]))


def _random_bytes(_: bytes) -> bytes:
    return random.Random(0).randbytes(2000)


def _truncated(pdf: bytes) -> bytes:
    return pdf[: len(pdf) // 2]


def _header_only(_: bytes) -> bytes:
    return b"%PDF-1.7\n"


def _unknown_filter(pdf: bytes) -> bytes:
    """Same length, so the cross-reference table stays valid: only the filter name is wrong."""
    assert b"/FlateDecode" in pdf
    return pdf.replace(b"/FlateDecode", b"/BogusDecode")


@pytest.mark.parametrize(
    "corrupt",
    [
        _random_bytes,
        _truncated,
        _header_only,
        _unknown_filter,
    ],
    ids=["random-bytes", "truncated", "header-only", "unknown-filter"],
)
def test_corrupt_pdf_is_a_load_error(tmp_path: Path, corrupt: Callable[[bytes], bytes]) -> None:
    """One bad file must not crash a whole indexing run: only LoadError is allowed out."""
    good = make_pdf(tmp_path / "good.pdf", [PAGE_ONE, PAGE_TWO]).read_bytes()
    with pytest.raises(LoadError):
        load_file(write(tmp_path / "bad.pdf", corrupt(good)))


def test_utf16_with_bom_is_text_not_binary(tmp_path: Path) -> None:
    """Windows tools write UTF-16 with a byte-order mark; its NUL bytes do not make it binary."""
    path = tmp_path / "notes.txt"
    path.write_bytes("Case notes: the family moved to Leeds.\n".encode("utf-16"))
    assert load("notes.txt", path).text == "Case notes: the family moved to Leeds.\n"


def test_overlapping_folders_index_each_file_once(tmp_path: Path) -> None:
    """`rag index docs docs/sub` must not index docs/sub/a.txt twice under two ids."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("Some text.")
    files, _ = discover([tmp_path, tmp_path / "sub"])
    assert [doc for doc, _ in files] == ["sub/a.txt"]


def test_html_text_run_longer_than_the_parser_reads_is_kept_with_a_note(tmp_path: Path) -> None:
    """libxml2 drops a text node over 10,000,000 characters: the page's other text came through and
    the run vanished without a word. Now the whole page is read as plain text, and a note says so."""
    run = " ".join(f"The panel met on day {i} and agreed the plan." for i in range(240_000))
    assert len(run) > 10_000_000
    page = tmp_path / "huge.html"
    page.write_text(
        "<html><head><title>Panel log</title></head><body><h1>Panel log</h1>"
        "<p>The review was chaired by an independent social worker and reported in March.</p>"
        f"<p>{run}</p></body></html>"
    )
    doc = load("huge.html", page)
    assert "The review was chaired by an independent social worker" in doc.text
    assert "The panel met on day 0 and" in doc.text and "on day 239999 and agreed the plan." in doc.text
    assert doc.title == "Panel log"
    (note,) = doc.notes
    assert note.startswith(f"{page}: a text run of ") and "longer than the HTML parser reads" in note
    assert "\n" not in note


def test_ordinary_html_has_no_notes(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><p>The review was chaired by an independent social worker.</p></body></html>"
    )
    assert load("page.html", page).notes == ()
