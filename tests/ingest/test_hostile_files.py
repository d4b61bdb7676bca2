"""A corpus of nasty files, written by the test, indexed together with the seeds in one run.

Bad files (binary, empty, a textless or broken PDF, the wrong extension, a pipe, odd names, an
oversized file, corrupt, password-protected and zip-bomb Office files, corrupt and oversized images)
each get one warning line naming them and the run goes on; a huge sheet and an e-mail with only
attachments are indexed with one note each; nasty but valid files
(damaged UTF-8, a legacy code page, control characters and NUL, right-to-left scripts, emoji, HTML
nested 10,000 deep, a 5 MB line) are indexed, searchable and cited with valid offsets.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fpdf import FPDF

from rag.cli import main as rag_main
from rag.config import Config
from rag.engine import Engine
from rag.errors import LoadError
from rag.ingest.clean import PIECE_CHARS
from rag.ingest.formats import sheets
from rag.ingest.formats.zipguard import OLE_MAGIC
from rag.store import IndexReader
from rag.store.indexer import build_index
from rag.types import IndexReport
from tests.conftest import SEEDS, collapse, run_rag
from tests.ingest.format_files import png_header_only, write_eml, write_pptx, write_xlsx
from tests.ingest.test_formats import zip_bomb
from tests.ingest.test_hostile_input import load_or_error

RUN_SECONDS = 120  # the whole indexing run, on a busy 2-core machine (it takes about 15 s)
CONTROL_FILLER = "".join(
    f"Item {i}: the parish council agreed at meeting {i} that the footpath repairs in ward {i % 7} "
    f"would cost {i * 113} pounds, and the clerk recorded the vote in the minutes.\n\n"
    for i in range(60)
)  # over 8 KB, so the NUL below lies past the binary sniff and reaches the index


@dataclass(frozen=True)
class Good:
    """A nasty but valid file: a question its unique fact answers, and words of that answer."""

    name: str
    raw: bytes
    question: str
    answer: str


GOOD = [
    Good(
        "damaged-utf8.txt",
        "The Vellmoor archive in Tromsø holds 4,312 letters written by Ingrid Saltvik, the café owner’s "
        "daughter.\n\nA stray byte follows: ".encode()
        + b"\xff and a cut character ends the file \xc3",
        "How many letters does the Vellmoor archive hold?",
        "4,312 letters",
    ),
    Good(
        "legacy-cp1252.txt",
        "The Marrowby choir’s spring concert in the café raised £1,250 for the village’s new roof.\n".encode(
            "cp1252"
        ),
        "How much did the Marrowby choir's spring concert raise?",
        "£1,250",
    ),
    Good(
        "control.txt",
        (
            CONTROL_FILLER
            + "The Brackwater ferry\x07 carried 212 passengers\x1b[31m on its first crossing\x0b in "
            + "1911.\x00\n"
        ).encode(),
        "How many passengers did the Brackwater ferry carry on its first crossing?",
        "212 passengers",
    ),
    Good(
        "rtl.txt",
        "تعمل المجالس المحلية في المدينة على حماية الأطفال من الإهمال وسوء المعاملة، وقد نشرت تقريرا "
        "جديدا عن الخدمات الاجتماعية هذا العام.\n\n"
        "המועצה המקומית פרסמה דוח חדש על שירותי הרווחה לילדים ולמשפחות בעיר, והדוח מתאר את העבודה של "
        "העובדים הסוציאליים.\n\n"
        "The Al-Noor clinic (عيادة النور) in Bradford opened its family centre in 2016.\n".encode(),
        "When did the Al-Noor clinic open its family centre?",
        "2016",
    ),
    Good(
        "emoji.md",
        "# Kitchen notes 🍲\n\nThe Pellucid Kitchen 🍲 served 845 free meals 🎉 to families 👨‍👩‍👧 during "
        "the winter of 2019, its volunteers said.\n".encode(),
        "How many free meals did the Pellucid Kitchen serve?",
        "845 free meals",
    ),
    Good(
        "nested.html",
        b"<html><body>"
        + b"<div>" * 10_000
        + b"<p>The Ostrander Bridge over the river Wey was rebuilt in 1894 at a cost of 9,000 pounds.</p>"
        + b"</div>" * 10_000
        + b"</body></html>",
        "When was the Ostrander Bridge rebuilt?",
        "1894",
    ),
]
ONE_LINE = "one-line.txt"  # 5 MB without a newline: a data dump, read and then dropped as not prose


def _pdf(pages: list[str]) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def _fifo(path: bytes) -> None:
    os.mkfifo(path)


def _sparse(size: int) -> Callable[[bytes], None]:
    """A file of `size` bytes that takes no disk space or time to write."""

    def write(path: bytes) -> None:
        with open(path, "wb") as f:
            f.truncate(size)

    return write


PDF = _pdf(["The harbour wall was rebuilt in stone."])
RNG = random.Random(0)
# name (bytes: some are not UTF-8), how one-line messages show it, what they say, its content.
BAD: list[tuple[bytes, str, str, bytes | Callable[[bytes], None]]] = [
    (b"random.txt", "random.txt", "looks binary", RNG.randbytes(4096)),
    (b"program.md", "program.md", "looks binary", b"\x7fELF\x02\x01\x01\x00" + RNG.randbytes(2000)),
    (
        b"image.html",
        "image.html",
        "looks binary",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + RNG.randbytes(500),
    ),
    (b"empty.md", "empty.md", "empty file", b""),
    (b"scan.pdf", "scan.pdf", "PDF has no extractable text", _pdf([""])),
    (b"broken.pdf", "broken.pdf", "unreadable PDF", PDF[: len(PDF) // 2]),
    (b"report.txt", "report.txt", "a PDF file named .txt; rename it .pdf", PDF),
    (b"page.md", "page.md", "an HTML page named .md", b"<!DOCTYPE html><html><body><p>Hi.</p></body></html>"),
    (b"scripts.html", "scripts.html", "no text found", b"<html><script>var a = 1;</script></html>"),
    (b"pipe.txt", "pipe.txt", "not a regular file", _fifo),
    (b"oversized.txt", "oversized.txt", "too large (101.0 MB, limit 100 MB)", _sparse(101_000_000)),
    (b"tool.exe", "tool.exe", "unsupported file type .exe", b"MZ\x90\x00"),
    (b"caf\xe9.txt", "caf\\xe9.txt", "control characters or bytes that are not UTF-8", b"Some text.\n"),
    (b"new\nline.txt", "new\\nline.txt", "control characters or bytes that are not UTF-8", b"Some text.\n"),
]


def _office(write: Callable[[Path], Path], damage: Callable[[bytes], bytes]) -> Callable[[bytes], None]:
    """A real office file written by its own library, then damaged."""

    def make(path: bytes) -> None:
        target = Path(os.fsdecode(path))
        target.write_bytes(damage(write(target).read_bytes()))

    return make


def _garbled(raw: bytes) -> bytes:
    """The middle of an archive overwritten: its members no longer inflate."""
    mid = len(raw) // 3
    return raw[:mid] + random.Random(6).randbytes(len(raw) // 3) + raw[2 * mid :]


# Office files, e-mail and images (issue 16): the same one line each, in bounded time.
BAD += [
    (b"corrupt.docx", "corrupt.docx", "not a readable Word document", RNG.randbytes(5000)),
    (b"corrupt.xlsx", "corrupt.xlsx", "spreadsheet", _office(write_xlsx, lambda raw: raw[: len(raw) // 2])),
    (b"corrupt.pptx", "corrupt.pptx", "presentation", _office(write_pptx, _garbled)),
    (b"locked.docx", "locked.docx", "password-protected or legacy Office file", OLE_MAGIC + bytes(8000)),
    (b"bomb.docx", "bomb.docx", "looks like a zip bomb", zip_bomb()),
    (b"corrupt.png", "corrupt.png", "unreadable image", b"\x89PNG\r\n\x1a\n" + RNG.randbytes(3000)),
    (b"huge.png", "huge.png", "image too large to OCR", png_header_only(40_000, 40_000)),
]
SHEET_ROWS = 300  # the row limit while the corpus is indexed: a "huge" sheet without hours of embedding
# Valid files that are read with one warning line (a note) each: what was left out.
NOTED = {
    "attachments-only.eml": (
        "no message text, only 2 attachment(s)",
        lambda p: write_eml(p, attachments_only=True),
    ),
    "huge.xlsx": (
        "read up to the row limit",
        lambda p: write_xlsx(p, [(f"Team {i}", i, i * 10.0) for i in range(SHEET_ROWS * 3)]),
    ),
}


def write_bad(folder: Path) -> None:
    for name, _, _, content in BAD:
        path = os.path.join(os.fsencode(folder), name)
        if callable(content):
            content(path)
        else:
            with open(path, "wb") as f:
                f.write(content)


def write_good(folder: Path) -> None:
    for good in GOOD:
        (folder / good.name).write_bytes(good.raw)
    for name, (_, write) in NOTED.items():
        write(folder / name)
    rng = random.Random(1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    block = "".join(rng.choice(alphabet) for _ in range(1_000_000))
    (folder / ONE_LINE).write_text(block * 5, encoding="ascii")


@dataclass(frozen=True)
class Built:
    config: Config
    report: IndexReport
    messages: list[str]
    seconds: float


def copy_index(seed_index: Config, folder: Path) -> Config:
    """A private copy of the session's seed index: the seeds are unchanged, so they are not re-read."""
    shutil.copytree(seed_index.index_dir, folder)
    return seed_index.with_(index_dir=folder)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, seed_index: Config) -> Built:
    """The seeds and every nasty file, good and bad, through one `build_index` call."""
    folder = tmp_path_factory.mktemp("nasty")
    write_bad(folder)
    write_good(folder)
    config = copy_index(seed_index, tmp_path_factory.mktemp("nasty-index") / "index")
    messages: list[str] = []
    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sheets, "MAX_ROWS", SHEET_ROWS)
        report = build_index([SEEDS, folder], config, warn=messages.append)
    return Built(config, report, messages, time.perf_counter() - started)


@pytest.fixture(scope="module")
def engine(built: Built) -> Engine:
    engine = Engine(built.config)
    yield engine
    engine.close()


def test_the_corpus_indexes_in_one_bounded_run_keeping_every_valid_file(built: Built) -> None:
    assert built.seconds < RUN_SECONDS
    seeds = sorted(p.name for p in SEEDS.iterdir())
    assert sorted(built.report.added) == sorted([g.name for g in GOOD] + [ONE_LINE, *NOTED])
    reader = IndexReader(built.config.index_dir)
    try:
        documents = {d["doc"]: d for d in reader.documents()}
    finally:
        reader.close()
    assert sorted(documents) == sorted([*seeds, *built.report.added])
    assert all(documents[g.name]["chunks"] >= 1 for g in GOOD)
    # 5 MB on one line: read and cleaned within the bound, judged in pieces, every one dropped as
    # data, not indexed as prose.
    assert documents[ONE_LINE]["chunks"] == 0
    assert documents[ONE_LINE]["dropped"] >= 5_000_000 // PIECE_CHARS


def test_each_bad_file_gets_one_warning_line_naming_it(built: Built) -> None:
    assert all("\n" not in m for m in built.messages)
    # One per bad file, one for the data dump that keeps no text, one per note (what a valid file
    # left out), none for the other valid files.
    assert len(built.messages) == len(BAD) + 1 + len(NOTED), built.messages
    for name, (note, _) in NOTED.items():
        (message,) = [m for m in built.messages if f"/{name}:" in m]
        assert note in message
    (dump,) = [m for m in built.messages if f"/{ONE_LINE}:" in m]
    assert dump.endswith(f"{ONE_LINE}: no text left after cleaning; nothing indexed")
    for _, shown, problem, _ in BAD:
        (message,) = [m for m in built.messages if f"/{shown}:" in m]
        assert problem in message


def test_every_chunk_of_the_nasty_files_is_its_source_slice(built: Built) -> None:
    reader = IndexReader(built.config.index_dir)
    try:
        chunks = [c for c in reader.chunks() if c.doc in {g.name for g in GOOD}]
        for c in chunks:
            text = reader.document_text(c.doc)
            assert collapse(text[c.start : c.end]) == c.text
            assert all(c.start <= s < e <= c.end for s, e in c.sentences)
    finally:
        reader.close()
    assert {c.doc for c in chunks} == {g.name for g in GOOD}


@pytest.mark.parametrize("good", GOOD, ids=[g.name for g in GOOD])
def test_nasty_but_valid_files_answer_with_valid_citations(engine: Engine, good: Good) -> None:
    answer = engine.ask(good.question)
    assert not answer.abstained, answer.answer
    assert good.answer in answer.answer
    assert good.name in {c.doc for c in answer.citations}
    for c in answer.citations:
        assert c.quote == collapse(engine.reader.document_text(c.doc)[c.start : c.end])


def test_right_to_left_text_is_searchable_in_its_own_script(engine: Engine) -> None:
    assert engine.search("الخدمات الاجتماعية للأطفال").passages[0].doc == "rtl.txt"
    assert engine.search("שירותי הרווחה לילדים").passages[0].doc == "rtl.txt"


def test_rag_ask_does_not_pass_terminal_escapes_from_documents(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rag ask` prints quotes as they are; a document's ESC sequence must not reach the terminal."""
    question = "How many passengers did the Brackwater ferry carry on its first crossing?"
    assert rag_main(["ask", question, "--index-dir", str(built.config.index_dir)]) == 0
    out = capsys.readouterr().out
    assert "212 passengers" in out
    assert "\x1b" not in out and "\x07" not in out


def test_rag_index_prints_one_warning_line_per_bad_file_and_goes_on(
    tmp_path: Path, seed_index: Config
) -> None:
    """The command line: exit status 0, one `rag: warning:` line per bad file, no traceback."""
    folder = tmp_path / "bad"
    folder.mkdir()
    write_bad(folder)
    config = copy_index(seed_index, tmp_path / "index")
    result = run_rag("index", str(SEEDS), str(folder), "--index-dir", str(config.index_dir), timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == len(BAD) and all(line.startswith("rag: warning: ") for line in lines)
    for _, shown, problem, _ in BAD:
        (line,) = [line for line in lines if f"/{shown}:" in line]
        assert problem in line
    assert result.stdout.startswith("5 documents, ")


@pytest.mark.parametrize(
    "name", [name for name, *_ in BAD if name.endswith((b".docx", b".xlsx", b".pptx", b".png"))]
)
def test_each_bad_office_file_or_image_fails_alone_within_a_time_bound(tmp_path: Path, name: bytes) -> None:
    """Per file, not only per run: each is refused as one line in CALL_SECONDS."""
    ((_, _, problem, content),) = [entry for entry in BAD if entry[0] == name]
    path = os.path.join(os.fsencode(tmp_path), name)
    if callable(content):
        content(path)
    else:
        Path(os.fsdecode(path)).write_bytes(content)
    error = load_or_error(Path(os.fsdecode(path)))
    assert isinstance(error, LoadError) and problem in str(error), error


def test_the_huge_sheet_keeps_its_rows_up_to_the_limit_and_nothing_after(built: Built) -> None:
    reader = IndexReader(built.config.index_dir)
    try:
        text = reader.document_text("huge.xlsx")
    finally:
        reader.close()
    assert f"row {SHEET_ROWS}:" in text and f"row {SHEET_ROWS + 2}:" not in text


@pytest.mark.slow
def test_a_50_mb_text_file_under_the_default_cap_is_indexed_within_a_bound(tmp_path: Path) -> None:
    """`max_file_mb` is 100 by default, so 50 MB is read, cleaned and indexed (repeated blocks:
    the cleaner drops the repeats, so little is embedded). Cleaning runs at about 1 MB/s here, so
    the bound is generous; unique prose of this size would take hours to embed on a laptop CPU."""
    folder = tmp_path / "docs"
    folder.mkdir()
    fact = "The Quorvane Trust paid for the new playground on Mill Lane in 1987.\n\n"
    block = ((SEEDS / "001_9915dc2b03620208.txt").read_text(encoding="utf-8") + "\n\n").encode()
    with (folder / "big.txt").open("wb") as f:
        f.write(fact.encode())
        for _ in range(50_000_000 // len(block) + 1):
            f.write(block)
    config = Config(index_dir=tmp_path / "index")
    started = time.perf_counter()
    report = build_index([folder], config)
    assert time.perf_counter() - started < 300
    assert report.added == ["big.txt"] and not report.errors
    engine = Engine(config)
    try:
        answer = engine.ask("Who paid for the new playground on Mill Lane?")
    finally:
        engine.close()
    assert "Quorvane Trust" in answer.answer
