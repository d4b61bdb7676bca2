"""Hostile input to the loader, cleaner and chunker: fuzzed bytes and text, and the cases fuzzing and
the nasty-file corpus found (pipes, wrong extensions, damaged UTF-8, deep HTML, odd file names, huge
lines, long runs without spaces, caseless scripts).

The promise under test: a file either becomes a Document or fails as one LoadError line naming it;
text never breaks the cleaner or the chunker, every offset points at its own text, and nothing takes
more than a bounded time (each call is timed; the bounds are generous for a busy 2-core machine).
"""

from __future__ import annotations

import os
import threading
import time
import unicodedata
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.errors import LoadError
from rag.ingest.chunk import chunk_document, split_sentences
from rag.ingest.clean import classify
from rag.ingest.formats import FORMAT_KINDS
from rag.ingest.load import discover, load
from rag.store.embed import Embedder
from rag.types import Document
from tests.conftest import collapse
from tests.ingest.test_chunk import all_kept, assert_chunks_valid, covered, make_doc

T = TypeVar("T")
CALL_SECONDS = 10.0  # per load/clean/chunk call on inputs of a few KB (they take milliseconds)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Pieces real and hostile text is made of: prose, abbreviations, markup, scripts, controls, emoji.
FRAGMENTS = [
    "The council met on Tuesday. ",
    "Dr. Smith said so, i.e. not quite. ",
    "word ",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "\t",
    "  ",
    "...",
    "…",
    "?!",
    '"Quoted," she said. ',
    "“Curly” ",
    "1,2,3,4,5,6,7,8,9,10,",
    "ab" * 150,
    "<div>",
    "</p>",
    "&amp; &#x27; ",
    "<script>alert(1)</script>",
    "مرحبا بالعالم. ",
    "שלום עולם. ",
    "地方议会发布了报告。",
    "👨\u200d👩\u200d👧 ",
    "🛡️",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x0b\x0c",
    "\x1c\x1d\x1e\x1f",
    "\x85",
    "\u2028",
    "\u202e",
    "\ufeff",
    "\ufffd",
    "- bullet item\n",
    "# Heading\n",
]
_unicode = st.characters(exclude_categories=["Cs"])  # decoded text never holds lone surrogates
TEXTS = st.one_of(
    st.text(_unicode, max_size=1500),
    st.lists(st.sampled_from(FRAGMENTS), max_size=200).map("".join),
)
PREFIXES = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"%PDF-1.4\n", b"<!DOCTYPE html>", b"<html>"]
RAW = st.one_of(
    st.binary(max_size=3000),
    TEXTS.map(lambda t: t.encode("utf-8")),
    st.tuples(st.sampled_from(PREFIXES), TEXTS, st.binary(max_size=8)).map(
        lambda p: p[0] + p[1].encode("utf-8") + p[2]
    ),
)
TAGS = ["div", "p", "span", "table", "tr", "td", "ul", "li", "b", "h1", "article", "script", "style"]
HTML = st.recursive(
    TEXTS.map(lambda t: t.replace("<", " ")),
    lambda inner: st.tuples(st.sampled_from(TAGS), st.lists(inner, max_size=4), st.booleans()).map(
        lambda t: f"<{t[0]}>{''.join(t[1])}" + (f"</{t[0]}>" if t[2] else "")
    ),
    max_leaves=40,
)


def timed(call: Callable[[], T], seconds: float = CALL_SECONDS) -> T:
    """Run `call`, failing when it takes longer than `seconds` (a hang shows up as a failure)."""
    started = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    return result


def load_or_error(path: Path) -> Document | LoadError:
    """The loader's outcome; any exception other than LoadError fails the test."""
    try:
        return timed(lambda: load(path.name, path))
    except LoadError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ") and "\n" not in message, message
        return exc


def _shown(c: str) -> str:
    """How a loaded text shows a character: control characters that are not whitespace as a space."""
    return " " if unicodedata.category(c) == "Cc" and not c.isspace() else c


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_pipeline(text: str, embedder: Embedder) -> None:
    """Clean and chunk `text` (as the cleaner decides, and with every paragraph kept): paragraph and
    chunk offsets point at their own text, no word of a kept paragraph is lost, no chunk overflows."""
    paragraphs = timed(lambda: classify(text))
    for p in paragraphs:
        assert 0 <= p.start < p.end <= len(text)
        assert collapse(text[p.start : p.end]) == p.text and p.reason
    for kept in (paragraphs, all_kept(text)):
        chunks = timed(partial(chunk_document, make_doc(text), kept, embedder.count_tokens, 200, 1, 254))
        assert_chunks_valid(text, chunks, embedder, 254)
        mask = covered(chunks, len(text))
        assert all(mask[i] or text[i].isspace() for p in kept if p.kept for i in range(p.start, p.end))


# --- fuzzing --------------------------------------------------------------------------------


@FUZZ
@given(raw=RAW, suffix=st.sampled_from([".txt", ".md", ".html", *FORMAT_KINDS]))
def test_fuzzed_files_load_or_fail_with_one_line_and_their_text_chunks(
    tmp_path: Path, embedder: Embedder, raw: bytes, suffix: str
) -> None:
    """Arbitrary bytes under a text name, or an office, sheet, e-mail or e-book name: a Document
    whose text is valid Unicode (it is hashed, stored and sent as JSON) and cleans and chunks, or
    one LoadError line naming the file."""
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(raw)
    doc = load_or_error(path)
    if isinstance(doc, Document):
        doc.text.encode("utf-8")  # raises on a lone surrogate
        if suffix in (".txt", ".md") and _is_utf8(raw):  # offsets are positions in the file itself
            assert doc.text == "".join(map(_shown, raw.decode("utf-8-sig")))
        check_pipeline(doc.text, embedder)


@FUZZ
@given(html=HTML)
def test_fuzzed_html_loads_or_fails_with_one_line(tmp_path: Path, embedder: Embedder, html: str) -> None:
    """Random nesting of real tags, some left open, with hostile text inside."""
    path = tmp_path / "fuzz.html"
    path.write_text(f"<html><body>{html}</body></html>", encoding="utf-8")
    doc = load_or_error(path)
    if isinstance(doc, Document):
        assert "<script>" not in doc.text
        check_pipeline(doc.text, embedder)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS)
def test_fuzzed_text_cleans_and_chunks_with_exact_offsets(embedder: Embedder, text: str) -> None:
    check_pipeline(text, embedder)


# --- what fuzzing and the nasty files found -------------------------------------------------


def test_a_named_pipe_is_refused_instead_of_read_forever(tmp_path: Path) -> None:
    """Reading a FIFO blocks until someone writes; `rag index` on a folder holding one hung."""
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    outcome: list[object] = []
    reader = threading.Thread(target=lambda: outcome.append(load_or_error(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=CALL_SECONDS)
    if reader.is_alive():
        with fifo.open("wb"):  # release the blocked reader before failing
            pass
        pytest.fail("load() blocked on a named pipe")
    (error,) = outcome
    assert isinstance(error, LoadError) and "not a regular file" in str(error)


def _pdf(text: str, compress: bool) -> bytes:
    pdf = FPDF()
    pdf.set_compression(compress)
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


PAGE = b"<!DOCTYPE html>\n<html><head><title>Notes</title></head><body><p>The harbour wall.</p></body></html>"
SAVED_PAGE = b"\xef\xbb\xbf  <!-- saved -->\n<HTML lang=en><body><p>The harbour wall.</p></body></HTML>"


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("report.txt", _pdf("The harbour wall was rebuilt.", True), "a PDF file named .txt; rename it .pdf"),
        ("report.md", _pdf("The harbour wall was rebuilt.", False), "a PDF file named .md; rename it .pdf"),
        ("report.html", _pdf("The harbour wall was rebuilt.", False), "a PDF file named .html"),
        ("page.md", PAGE, "an HTML page named .md; rename it .html"),
        ("page.txt", SAVED_PAGE, "an HTML page named .txt"),
    ],
    ids=["pdf-as-txt", "uncompressed-pdf-as-md", "pdf-as-html", "html-as-md", "html-as-txt"],
)
def test_a_file_under_the_wrong_extension_is_refused_with_its_real_type(
    tmp_path: Path, name: str, raw: bytes, message: str
) -> None:
    """An uncompressed PDF has no NUL bytes, so it was indexed as PDF source code; HTML named .md
    was indexed tags and all. The extension decides the doc id, so the user renames the file."""
    path = tmp_path / name
    path.write_bytes(raw)
    error = load_or_error(path)
    assert isinstance(error, LoadError) and message in str(error)


@pytest.mark.parametrize("text", ["Some <b>bold</b> text.\n", "<div>A block of markdown HTML.</div>\n"])
def test_markdown_with_some_html_in_it_is_still_markdown(tmp_path: Path, text: str) -> None:
    path = tmp_path / "notes.md"
    path.write_text(text, encoding="utf-8")
    assert load(path.name, path).text == text


TROMSO = "Tromsø’s café — “naïve” résumés, façades and crème brûlée were all on the agenda. " * 4


def test_utf8_with_a_few_damaged_bytes_keeps_its_text(tmp_path: Path) -> None:
    """One stray byte used to make the whole file either garbled as cp1252 or refused as having no
    detectable encoding; now only that byte becomes U+FFFD."""
    path = tmp_path / "notes.txt"
    path.write_bytes(TROMSO.encode() + b"\xff" + TROMSO.encode() + "é".encode()[:1])
    assert load(path.name, path).text == TROMSO + "\ufffd" + TROMSO + "\ufffd"


def test_control_characters_read_as_spaces_one_for_one(tmp_path: Path) -> None:
    """A NUL after a full stop made the sentence look unfinished (a heading), so answers skipped it;
    an ESC sequence quoted by `rag ask` reached the terminal. Offsets stay those of the file."""
    raw = "A\x00B\x07C\x1b[31mD\x7fE\x9bF\tG\x0cH\x1fI\n".encode()
    path = tmp_path / "controls.txt"
    path.write_bytes(b"x" * 9000 + raw)  # past the first 8 KB, where a NUL means binary
    assert load(path.name, path).text[9000:] == "A B C [31mD E F\tG\x0cH\x1fI\n"


@pytest.mark.parametrize(
    "junk",
    ["", "<!-- a comment --><script>var hidden = 1;</script>", "<a" * 100_000],
    ids=["plain", "comment-and-script", "100k-unclosed-tags"],
)
@pytest.mark.parametrize("depth", [300, 10_000])
def test_deeply_nested_html_keeps_its_text(tmp_path: Path, depth: int, junk: str) -> None:
    """lxml (and so trafilatura) keeps nothing nested deeper than 255 levels; such a page used to
    fail as "no text found" although it has text. The fallback reads it in linear time even when
    tags are left unclosed (the standard library's parser would take minutes on the last case)."""
    sentence = "The Ostrander Bridge over the river Wey was rebuilt in 1894."
    path = tmp_path / "deep.html"
    path.write_text(f"<html><body>{'<div>' * depth}{junk}<p>{sentence}</p>{'</div>' * depth}</body></html>")
    doc = timed(lambda: load(path.name, path))
    assert collapse(doc.text).endswith(sentence) and "hidden" not in doc.text


def test_file_names_that_are_not_plain_text_are_skipped_with_one_line_each(tmp_path: Path) -> None:
    """A name with bytes that are not UTF-8 crashed `rag index` (the doc id could not be encoded);
    a newline in a name would split a warning or citation line in two."""
    names = [b"caf\xe9.txt", b"new\nline.md", b"bell\x07.txt", b"fine.txt"]
    for name in names:
        with open(os.path.join(os.fsencode(tmp_path), name), "wb") as f:
            f.write(b"Some text about the harbour wall.\n")
    found, warnings = discover([tmp_path])
    assert [doc for doc, _ in found] == ["fine.txt"]
    shown = [f"{tmp_path}/caf\\xe9.txt", f"{tmp_path}/new\\nline.md", f"{tmp_path}/bell\\x07.txt"]
    assert sorted(warnings) == sorted(
        f"skipped {name}: the file name has control characters or bytes that are not UTF-8; rename it"
        for name in shown
    )


def test_a_huge_paragraph_is_split_into_sentences_in_linear_time() -> None:
    """pysbd's time grows with the square of its input: a 200 KB one-line paragraph took about a
    minute (a 5 MB one about ten hours); it is now read in windows."""
    sentences = [f"The council met on day {i} to discuss the safety of children." for i in range(3200)]
    text = " ".join(sentences)
    spans = timed(lambda: split_sentences(text, 0, len(text)), seconds=20)
    assert [text[s:e] for s, e in spans] == sentences


@pytest.mark.parametrize(
    "run",
    ["1,2,3," * 400, "地方议会发布了一份关于儿童社会服务的新报告，" * 40, "ab" * 3000],
    ids=["list-without-spaces", "chinese-without-full-stops", "one-long-word"],
)
def test_a_run_without_spaces_longer_than_the_window_is_cut_not_truncated(
    embedder: Embedder, run: str
) -> None:
    """Sentences were only cut at spaces, so a longer run made a chunk of ~2,000 word pieces that
    the model silently truncated to its 256."""
    text = f"The codes follow. {run} End of the codes."
    chunks = chunk_document(make_doc(text), all_kept(text), embedder.count_tokens, 200, 1, embedder.window)
    assert_chunks_valid(text, chunks, embedder, embedder.window)
    mask = covered(chunks, len(text))
    assert all(mask[i] or text[i].isspace() for i in range(len(text)))


@pytest.mark.parametrize(
    "paragraph",
    [
        "تعمل المجالس المحلية في المدينة على حماية الأطفال من الإهمال وسوء المعاملة، "
        "وقد نشرت تقريرا جديدا عن الخدمات الاجتماعية هذا العام.",
        "המועצה המקומית פרסמה דוח חדש על שירותי הרווחה לילדים ולמשפחות בעיר, והדוח מתאר את העבודה של "
        "העובדים הסוציאליים.",
        "地方议会发布了一份关于儿童社会服务的新报告。报告描述了社会工作者在保护儿童方面所做的工作，以及他们在"
        "资金和人手方面面临的困难，并呼吁政府增加投入。",
    ],
    ids=["arabic", "hebrew", "chinese"],
)
def test_prose_in_caseless_scripts_is_kept(paragraph: str) -> None:
    """Scripts without capitals read as all-capitalised words (names, banners), so whole Arabic,
    Hebrew or Chinese documents were dropped as "few stop words"."""
    ((kept, reason),) = [(p.kept, p.reason) for p in classify(paragraph)]
    assert kept, reason
