"""The office, spreadsheet, e-mail and e-book formats: real files written by their own libraries,
read into text that keeps headings, table rows with their header names, slides with titles and
notes, sheet names and row numbers, e-mail headers and attachment lists; bad files (corrupt,
password-protected, zip bombs, huge sheets, mutated bytes) each fail as one LoadError line, in
bounded time; and an index over one file per format answers each question from its own file."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest

from rag.config import Config
from rag.engine import Engine
from rag.errors import LoadError
from rag.ingest import classify, load
from rag.ingest.formats import sheets
from rag.ingest.formats.zipguard import OLE_MAGIC
from rag.store import IndexReader
from rag.store.indexer import build_index
from rag.types import Document
from tests.ingest.format_files import WRITERS, write_eml, write_xlsx
from tests.ingest.test_hostile_input import load_or_error, timed

EXPECTED = {
    "staffing.docx": ["Regional staffing", "Team: North; Vacancies: 3.", "Team: South; Vacancies: 7."],
    "harvest.pptx": [
        "Slide 1: Harvest review",
        "Orchard yields rose by a fifth.",
        "Notes: Thank the Pellworth growers.",
        "Slide 2: Next season",
    ],
    "budget.xlsx": [
        "Sheet Budget, row 2: Team: North; Vacancies: 3; Budget: 12500.",
        "Sheet Budget, row 3: Team: Ostrava depot; Vacancies: 11; Budget: 48000.",
        "Sheet Fleet, row 2: Vehicle: Tanker 9; Depot: Harwick.",
    ],
    "mayors.csv": ["Row 2: city: Kelvarra; mayor: Ines Drummond; population: 48210."],
    "lighthouse.odt": ["Lighthouse log", "relit on 4 June", "Keepers", "Keeper: Anwen Tull; Years: 12."],
    "salt-road.epub": ["Chapter One", "Qasr Mirel", "Chapter Two", "Tindouf Vale"],
    "boiler.eml": [
        "Subject: Boiler service on Friday\nFrom: Greta Lind <greta@example.org>",
        "Date: Tue, 01 Dec 2026 09:30:00 +0000\n\nThe engineer from Calderwick Heating",
        "Attachments (not indexed): rota.pdf, costs.xlsx",
    ],
    "toll.rtf": ["The Ferrowind bridge toll is two crowns.\n\nCarts pay double on market days."],
}
TITLES = {
    "staffing.docx": "Staffing plan",
    "salt-road.epub": "The Salt Road",
    "boiler.eml": "Boiler service on Friday",
}


def written(folder: Path, name: str) -> Path:
    return WRITERS[name](folder / name)


@pytest.mark.parametrize("name", list(WRITERS))
def test_each_format_reads_into_text_with_its_structure(tmp_path: Path, name: str) -> None:
    doc = timed(lambda: load(name, written(tmp_path, name)))
    assert doc.kind == name.rsplit(".", 1)[1]
    for needle in EXPECTED[name]:
        assert needle in doc.text, doc.text
    assert "\n\n" in doc.text  # paragraph breaks, for the chunker
    if name in TITLES:
        assert doc.title == TITLES[name]


PAGE = """<html><head><title>Panel log</title></head><body><nav><h2>Menu</h2><a href="/">Home</a></nav>
<article><h1>Panel log</h1><p>The panel met on Monday and agreed the plan for the northern district.</p>
<h2>Findings</h2><p>The panel found that the Harwick referrals were answered late in most cases.</p>
<h3>Next   steps</h3><p>More staff will be hired in the spring, the director told the panel.</p>
</article></body></html>"""


def test_a_quote_is_located_in_the_section_of_the_nearest_heading_above_it(tmp_path: Path) -> None:
    """Word, OpenDocument and HTML: "section <heading>", but none under the heading that is the
    document's title (the citation shows the title) and none from a heading the page's text left out."""
    (tmp_path / "panel.html").write_text(PAGE, encoding="utf-8")
    places = {
        "staffing.docx": [
            ("Quillfield office", "section Regional staffing"),
            ("South; Vacancies: 7", "section Vacancies by team"),
        ],
        "lighthouse.odt": [("relit on 4 June", None), ("Anwen Tull; Years", "section Keepers")],
        "panel.html": [
            ("agreed the plan", None),
            ("Harwick referrals", "section Findings"),
            ("More staff", "section Next steps"),
        ],
    }
    for name, quotes in places.items():
        path = tmp_path / name if name == "panel.html" else written(tmp_path, name)
        doc = load(name, path)
        for quote, locator in quotes:
            assert doc.places.locator_at(doc.text.index(quote)) == locator, (name, quote, doc.locators)
            assert doc.page_at(doc.text.index(quote)) is None
    assert "Menu" not in load("panel.html", tmp_path / "panel.html").text


@pytest.mark.parametrize("kind", ["html", "attachments"])
def test_an_html_only_or_attachments_only_email_keeps_its_headers(tmp_path: Path, kind: str) -> None:
    path = write_eml(tmp_path / "m.eml", html_only=kind == "html", attachments_only=kind == "attachments")
    text = load("m.eml", path).text
    assert text.startswith("Subject: Boiler service on Friday\nFrom: Greta Lind")
    assert text.endswith("Attachments (not indexed): rota.pdf, costs.xlsx")
    assert ("Calderwick Heating" in text) == (kind == "html")
    assert "<p>" not in text


def test_200_short_repetitive_rows_all_survive_the_cleaner(tmp_path: Path) -> None:
    """The web-boilerplate rules would drop short repeated lines; a sheet keeps every row."""
    doc = load("s.xlsx", write_xlsx(tmp_path / "s.xlsx", [("North", 3, 1.0)] * 200))
    paragraphs = classify(doc.text, keep_all=doc.kind == "xlsx")
    rows = [p for p in paragraphs if p.kept and ", row " in p.text]
    assert len(rows) == 200 + 1  # and the Fleet sheet's row
    assert sum(p.kept for p in classify(doc.text)) < 200  # what the web rules alone would keep


def test_a_huge_sheet_is_read_up_to_the_row_limit_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sheets, "MAX_ROWS", 50)
    doc = load("big.xlsx", write_xlsx(tmp_path / "big.xlsx", [(f"Team {i}", i, 0) for i in range(500)]))
    assert "row 49:" in doc.text and "row 60:" not in doc.text and "Sheet Fleet" not in doc.text
    (note,) = doc.notes  # one line for all that was left out
    assert (
        note
        == f"{tmp_path / 'big.xlsx'}: sheet Budget read up to the row limit (50 rows); sheet Fleet not read"
    )


def zip_bomb(megabytes: int = 60) -> bytes:
    """A small .docx-shaped zip whose document.xml unpacks to `megabytes` of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w") as member:
            block = b"0" * 1_000_000
            for _ in range(megabytes):
                member.write(block)
    return out.getvalue()


def _zip(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    return out.getvalue()


BAD = {
    "corrupt.docx": (lambda: random.Random(16).randbytes(5000), "not a readable Word document"),
    "locked.xlsx": (lambda: OLE_MAGIC + bytes(4000), "password-protected or legacy Office file"),
    "bomb.docx": (zip_bomb, "looks like a zip bomb"),
    "empty-zip.pptx": (lambda: _zip({}), "unreadable presentation"),
    "not-a-zip.epub": (lambda: b"PK\x03\x04 truncated", "not a readable e-book"),
    "binary.csv": (lambda: b"a,b\n\x00\x01\x02", "looks binary"),
    "no-headers.eml": (lambda: b"just some words\n", "not an e-mail"),
    "plain.rtf": (lambda: b"no rtf header here", "not an RTF file"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_file_fails_as_one_line_naming_it(tmp_path: Path, name: str) -> None:
    make, reason = BAD[name]
    path = tmp_path / name
    path.write_bytes(make())
    error = load_or_error(path)
    assert isinstance(error, LoadError) and reason in str(error), error


@pytest.mark.parametrize(
    "name", ["staffing.docx", "harvest.pptx", "budget.xlsx", "lighthouse.odt", "salt-road.epub"]
)
def test_mutated_office_files_load_or_fail_with_one_line(tmp_path: Path, name: str) -> None:
    """Fuzzing the zip formats: real files with bytes overwritten or cut short, 25 of each."""
    raw = written(tmp_path, name).read_bytes()
    rng = random.Random(name)
    for i in range(25):
        mutated = bytearray(raw)
        for _ in range(rng.randint(1, 40)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        if i % 5 == 0:
            mutated = mutated[: rng.randrange(1, len(mutated))]
        path = tmp_path / f"m{i}{Path(name).suffix}"
        path.write_bytes(bytes(mutated))
        doc = load_or_error(path)
        if isinstance(doc, Document):
            doc.text.encode("utf-8")


# question, the file that alone answers it, the title and locator its citation shows (page: slides)
QUESTIONS = [
    # the answer is in the Word document's second section, named by its heading
    (
        "How many vacancies does the South team have?",
        "staffing.docx",
        "Staffing plan",
        "section Vacancies by team",
    ),
    ("What is replaced at Dunmarrow in May?", "harvest.pptx", "Harvest review", "slide 2"),
    ("What is the budget of the Ostrava depot?", "budget.xlsx", "budget", "sheet Budget, row 3"),
    ("Who is the mayor of Kelvarra?", "mayors.csv", "mayors", "row 2"),
    ("When was the Skerrow lighthouse lamp relit?", "lighthouse.odt", "Lighthouse log", None),
    ("What did the guide Samir trade at the oasis?", "salt-road.epub", "The Salt Road", "chapter 2"),
    (  # an e-mail is found in a mailbox by who sent it and when
        "Which company services the boiler in flat 14?",
        "boiler.eml",
        "Boiler service on Friday",
        "from Greta Lind, 1 Dec 2026",
    ),
    ("How much is the Ferrowind bridge toll?", "toll.rtf", "The Ferrowind bridge toll is two crowns.", None),
]


@pytest.fixture(scope="module")
def format_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, list[str]]:
    """One file per format plus three bad ones, indexed in one run; the warnings it gave."""
    folder = tmp_path_factory.mktemp("formats")
    for name in WRITERS:
        written(folder, name)
    for name in ("corrupt.docx", "locked.xlsx", "bomb.docx"):
        (folder / name).write_bytes(BAD[name][0]())
    config = Config(index_dir=tmp_path_factory.mktemp("formats-index"))
    warnings: list[str] = []
    timed(lambda: build_index([folder], config, warn=warnings.append), 120)
    return config, warnings


def test_bad_office_files_get_one_warning_each_and_the_rest_is_indexed(
    format_index: tuple[Config, list[str]],
) -> None:
    config, warnings = format_index
    assert len(warnings) == 3 and all("\n" not in w for w in warnings), warnings
    for name in ("corrupt.docx", "locked.xlsx", "bomb.docx"):
        assert sum(name in w for w in warnings) == 1
    reader = IndexReader(config.index_dir)
    try:
        docs = {d["doc"]: d for d in reader.documents()}
    finally:
        reader.close()
    assert set(docs) == set(WRITERS)
    assert all(d["chunks"] > 0 and d["dropped"] == 0 for d in docs.values())


@pytest.mark.parametrize(("question", "source", "title", "locator"), QUESTIONS)
def test_a_question_is_answered_from_the_one_file_that_holds_it_and_cited_there(
    format_index: tuple[Config, list[str]], question: str, source: str, title: str, locator: str | None
) -> None:
    engine = Engine(format_index[0])
    try:
        answer = engine.ask(question)
    finally:
        engine.close()
    assert answer.passages[0].doc == source, [(p.doc, p.text[:60]) for p in answer.passages]
    assert not answer.abstained, answer.answer
    cited = answer.citations[0]
    assert (cited.doc, cited.title, cited.locator) == (source, title, locator), cited
    assert cited.page == (2 if source.endswith(".pptx") else None)
    assert answer.to_dict()["citations"][0]["locator"] == locator


@pytest.mark.parametrize("name", [*WRITERS, "letter.pdf", "notice.png", "photo.jpeg", "fax.tif"])
def test_uploads_accept_each_new_type(name: str) -> None:
    """The browser's upload takes the types in KINDS (ui/app.py's file_types) and stores them by name."""
    from rag.ingest import KINDS
    from rag.library import safe_name

    assert Path(name).suffix in KINDS
    assert safe_name(f"/uploads/{name}") == name
