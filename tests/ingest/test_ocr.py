"""OCR with the real Tesseract: an image-only PDF and a PNG, both rendered by the test from text in a
real font (no text layer anywhere), read into text with their pages, indexed, and asked a question
whose answer lies only in their pixels; bad images fail as one line in bounded time; without
Tesseract, one warning line says how to get it and the rest of the folder is indexed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from rag.config import Config
from rag.engine import Engine
from rag.errors import LoadError
from rag.ingest import load
from rag.ingest.formats import ocr
from rag.store import IndexReader
from rag.store.indexer import build_index
from tests.conftest import collapse, run_rag
from tests.ingest.format_files import png_header_only, write_docx, write_png, write_scan_pdf
from tests.ingest.test_hostile_input import load_or_error, timed

OCR_SECONDS = 60  # per file of one or two pages, on a busy 2-core machine (it takes 1 to 5 s)


def test_tesseract_is_installed() -> None:
    """`make setup` installs it (the `ocr` target); every test below needs the real binary."""
    assert ocr.tesseract_available(), ocr.TESSERACT_HELP


def test_an_image_only_pdf_is_read_page_by_page(tmp_path: Path) -> None:
    doc = timed(lambda: load("scan.pdf", write_scan_pdf(tmp_path / "scan.pdf")), OCR_SECONDS)
    assert doc.kind == "pdf" and len(doc.page_starts) == 2
    assert doc.text.startswith("Northfield Children's Services")
    start = doc.text.index("Harrowgate family")
    assert doc.page_at(start) == 2
    assert doc.page_at(doc.text.index("Dear Ms Okafor")) == 1
    assert "Tomasz Wren every Tuesday" in doc.text


def test_a_png_is_read(tmp_path: Path) -> None:
    doc = timed(lambda: load("notice.png", write_png(tmp_path / "notice.png")), OCR_SECONDS)
    assert doc.kind == "png" and doc.page_starts == ()
    assert "run by Priya Castellan." in doc.text and "Elmbrook community hall" in doc.text


def test_a_multi_page_tiff_keeps_its_pages(tmp_path: Path) -> None:
    from PIL import Image

    pdf = load("scan.pdf", write_scan_pdf(tmp_path / "scan.pdf"))
    write_png(tmp_path / "a.png")
    frames = [Image.open(tmp_path / "a.png"), Image.open(tmp_path / "a.png").rotate(0)]
    frames[0].save(tmp_path / "two.tiff", save_all=True, append_images=frames[1:])
    doc = timed(lambda: load("two.tiff", tmp_path / "two.tiff"), OCR_SECONDS)
    assert len(doc.page_starts) == 2 and doc.text.count("Priya Castellan") == 2
    assert pdf.text != doc.text


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("huge.png", png_header_only(30_000, 30_000), "image too large to OCR"),
        ("large.png", png_header_only(9_000, 8_000), "image too large to OCR"),
        ("cut.png", png_header_only(200, 100)[:40], "unreadable image"),
        ("noise.jpg", b"\xff\xd8\xff\xe0" + os.urandom(3000), "unreadable image"),
        ("text.tiff", b"II*\x00 not really a tiff", "unreadable image"),
    ],
)
def test_a_bad_image_fails_as_one_line_in_bounded_time(
    tmp_path: Path, name: str, raw: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    error = load_or_error(path)
    assert isinstance(error, LoadError) and reason in str(error), error


def test_a_blank_scan_has_no_text(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("L", (1200, 1600), 255).save(tmp_path / "blank.pdf", "PDF", resolution=150)
    with pytest.raises(LoadError, match="OCR found none"):
        load("blank.pdf", tmp_path / "blank.pdf")


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A folder of a scanned letter, a photographed notice and a Word document, indexed."""
    folder = tmp_path_factory.mktemp("scans")
    write_scan_pdf(folder / "letter.pdf")
    write_png(folder / "notice.png")
    write_docx(folder / "staffing.docx")
    config = Config(index_dir=tmp_path_factory.mktemp("scans-index"))
    report = timed(lambda: build_index([folder], config), 180)
    assert not report.errors and report.documents == 3, report
    return config


@pytest.mark.parametrize(
    ("question", "answer", "source", "title", "page"),
    [
        ("Who visits the Harrowgate family every Tuesday?", "Tomasz Wren", "letter.pdf", "letter", 2),
        (
            "Who runs the winter food bank at the Elmbrook community hall?",
            "Priya Castellan",
            "notice.png",
            "Notice to residents",
            None,
        ),
    ],
)
def test_a_question_is_answered_from_the_scanned_text_cited_with_its_page(
    scans: Config, question: str, answer: str, source: str, title: str, page: int | None
) -> None:
    engine = Engine(scans)
    try:
        result = engine.ask(question)
        assert not result.abstained and answer in result.answer, result.answer
        (cited,) = {c.doc for c in result.citations}
        assert cited == source
        text = engine.reader.document_text(source)
        for c in result.citations:
            assert c.quote == collapse(text[c.start : c.end])
        for c in result.citations:
            assert (c.title, c.page, c.locator) == (title, page, f"page {page}" if page else None), c
    finally:
        engine.close()


def test_a_scan_keeps_every_line_its_date_and_signature_too(scans: Config) -> None:
    """A scan has no web furniture: the short lines the web rules would drop (a letter's date, its
    signature and the signer's role) are kept."""
    reader = IndexReader(scans.index_dir)
    try:
        dropped = {d["doc"]: d["dropped"] for d in reader.documents()}
        texts = " ".join(c.text for c in reader.chunks() if c.doc == "letter.pdf")
    finally:
        reader.close()
    assert dropped["letter.pdf"] == dropped["notice.png"] == 0, dropped
    for line in ("14 March 2024", "Yours sincerely,", "Helen Ashdown", "Team Manager, Family Support"):
        assert line in texts, texts


def test_without_tesseract_one_warning_line_says_how_to_get_it(tmp_path: Path) -> None:
    """The real command line with a PATH that has no `tesseract`: the two files that need OCR share
    one warning line, and the Word document beside them is indexed."""
    folder = tmp_path / "docs"
    folder.mkdir()
    write_scan_pdf(folder / "letter.pdf")
    write_png(folder / "notice.png")
    write_docx(folder / "staffing.docx")
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    result = run_rag("index", str(folder), "--index-dir", str(tmp_path / "index"), env=env)
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("rag: warning: ") and "apt-get install tesseract-ocr" in line, line
    assert "and 1 more file that needs OCR" in line
    assert result.stdout.startswith("1 documents, ")
    reader = IndexReader(tmp_path / "index")
    try:
        assert [d["doc"] for d in reader.documents()] == ["staffing.docx"]
    finally:
        reader.close()
