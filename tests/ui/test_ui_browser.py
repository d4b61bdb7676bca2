"""The browser chat in Debian's Chromium against a real `rag serve`: ask, open a source, upload a file
and ask about it (a scanned PDF too), a PDF source's page (or an image) shown with the quote highlighted,
documents rendered as text, per-tab conversations, evaluate a question file."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from playwright.sync_api import expect

from rag.cli import main as rag_main
from rag.config import Config
from tests.conftest import ROOT
from tests.ingest.format_files import write_docx, write_png, write_scan_pdf
from tests.ingest.test_page_view import highlighted_text, write_report
from tests.ui.test_ui_api import history
from tests.ui_fixtures import Server, Tab
from ui.render import summary_table

SCREENSHOT = ROOT / "docs" / "screenshot.png"
EXAMPLE = "Who chaired the inquiry into the Cleveland child abuse cases?"
SLOW = 30_000  # ms: indexing an upload on a busy machine
COCKELL = "Which council was Sir Merrick Cockell the leader of?"
LOUGHTON = "What did Tim Loughton say about the Munro review?"
# The highlighted span lies inside the visible part of the document view's scroll box.
IN_VIEW = """() => {
  const mark = document.querySelector('#docview #cited'), box = mark && mark.closest('.doc-text');
  if (!box) return false;
  const m = mark.getBoundingClientRect(), b = box.getBoundingClientRect();
  return m.top >= b.top && m.bottom <= b.bottom;
}"""
PAYLOADS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
UNANSWERABLE = {"question": "What is the longest river in Africa?", "answerable": False}
SUMMARY_ROWS = "#eval-summary [role=row][data-index]"  # the body rows of gradio's virtual table


def answers(tab: Tab) -> Any:
    return tab.page.locator("#chat [data-testid=bot]")


def ask(tab: Tab, question: str) -> Any:
    """Type a question, press Enter, wait for the complete answer (sources or related passages)."""
    before = answers(tab).count()
    box = tab.page.locator("#msg textarea")
    box.fill(question)
    box.press("Enter")
    expect(answers(tab)).to_have_count(before + 1)
    answer = answers(tab).last
    expect(answer.locator(".sources-title")).to_be_visible()
    return answer


def upload(tab: Tab, path: Path) -> None:
    page = tab.page
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files(str(path))
    expect(page.locator("#doc-status")).to_contain_text(f"Indexed {path.name}", timeout=SLOW)
    expect(page.locator("#documents")).to_contain_text(path.name)
    page.get_by_role("tab", name="Chat").click()


def remove(tab: Tab, name: str) -> None:
    """Remove a document through the documents tab, leaving the shared server's index as it was."""
    page = tab.page
    page.get_by_role("tab", name="Documents").click()
    page.locator("#remove-doc input").fill(name)
    page.get_by_role("option", name=name).click()
    page.locator("#remove").click()
    expect(page.locator("#doc-status")).to_contain_text(f"Removed {name}", timeout=SLOW)
    expect(page.locator("#documents")).not_to_contain_text(name)


def test_ask_open_a_source_and_see_the_quote_highlighted(tab: Tab, ui_server: Server) -> None:
    page = tab.page
    expected = Client(ui_server.url, verbose=False).predict(EXAMPLE, api_name="/ask")
    quote = expected["citations"][0]["quote"]
    page.get_by_text(EXAMPLE).click()  # an example question on first load asks it
    answer = answers(tab).last
    expect(answer.locator(".answer")).to_have_text(expected["answer"])
    expect(answer).to_contain_text("[1]")
    expect(page.locator("#chat [data-testid=user]").last).to_have_text(EXAMPLE)
    expect(page.locator("#docview mark")).to_have_text(quote)  # the document view opens on source 1
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    source = answer.locator("details.source").first
    cited = expected["citations"][0]
    expect(source.locator("summary")).to_contain_text(f"[1] {cited['title']} ({cited['doc']})")
    expect(source.locator("mark")).to_be_hidden()
    source.locator("summary").click()
    expect(source.locator("mark")).to_be_visible()
    expect(source.locator("mark")).to_have_text(quote)
    page.wait_for_function(IN_VIEW, timeout=5_000)  # the document view scrolled to the quote

    page.locator("#settings").get_by_text("Settings").click()
    page.get_by_label("Show all retrieved passages with their stage scores").check()
    expect(page.locator("#scores")).to_contain_text("rerank")
    expect(page.locator("#scores")).to_contain_text("001_9915dc2b03620208.txt")
    page.get_by_label("generative").check()  # the packaged SmolLM2, run by the server
    expect(page.get_by_label("generative")).to_be_checked()
    before = answers(tab).count()
    page.locator("#msg textarea").fill(EXAMPLE)
    page.locator("#msg textarea").press("Enter")
    expect(answers(tab)).to_have_count(before + 1)
    generated = answers(tab).last
    expect(generated.locator(".sources-title")).to_be_visible(timeout=90_000)  # checked and complete
    expect(generated.locator(".generating")).to_have_count(0)
    page.get_by_label("extractive").check()

    refusal = ask(tab, "What are the phone line's opening hours?")
    expect(refusal).to_contain_text("I couldn't find this in the documents.")
    expect(refusal).to_contain_text("Related passages (not evidence for an answer)")
    page.locator("#msg textarea").fill("   ")
    page.locator("#msg textarea").press("Enter")
    expect(page.get_by_text("the question is empty")).to_be_visible()
    page.locator("#new-chat").click()
    expect(answers(tab)).to_have_count(0)
    expect(page.locator("#docview mark")).to_have_count(0)


def write_notes(path: Path) -> Path:
    path.write_text(
        "# The Zorblatt Institute\n\nThe Zorblatt Institute for Child Welfare was founded in 1931 by "
        "Elena Marchetti in the town of Tromsø.\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("name", "write", "question", "expected", "label"),
    [
        (
            "zorblatt-browser.md",
            write_notes,
            "Who founded the Zorblatt Institute?",
            "Elena Marchetti",
            "[1] The Zorblatt Institute (zorblatt-browser.md)",
        ),
        # an office file: its table row keeps the header names, its heading names the section
        (
            "staffing-browser.docx",
            write_docx,
            "How many vacancies does the South team have?",
            "Vacancies: 7",
            "[1] Staffing plan · section Vacancies by team (staffing-browser.docx)",
        ),
        # a scan: OCRed, cited with its page (the PDF's title is what Pillow wrote: the file's stem)
        (
            "letter-browser.pdf",
            write_scan_pdf,
            "Who visits the Harrowgate family every Tuesday?",
            "Tomasz Wren",
            "[1] letter-browser · page 2 (letter-browser.pdf)",
        ),
    ],
    ids=["markdown", "word", "scanned-pdf"],
)
def test_an_uploaded_file_is_indexed_and_cited_by_title_and_place(
    tab: Tab,
    tmp_path: Path,
    name: str,
    write: Callable[[Path], Path],
    question: str,
    expected: str,
    label: str,
) -> None:
    path = write(tmp_path / name)
    upload(tab, path)
    answer = ask(tab, question)
    expect(answer).to_contain_text(expected)
    expect(answer.locator("details.source summary").first).to_contain_text(label)

    remove(tab, name)


@pytest.mark.parametrize(
    ("name", "write", "question", "answer_text", "label", "page", "words"),
    [
        (
            "harbour-browser.pdf",
            write_report,
            "Who paid for the new lighthouse lamp?",
            "Skerrow trust",
            "[1] Harbour report · page 2 (harbour-browser.pdf)",
            2,
            ("lighthouse lamp", "Skerrow trust"),
        ),
        (  # a photographed notice: the image itself, marked from Tesseract's word boxes
            "notice-browser.png",
            write_png,
            "Who runs the winter food bank at the Elmbrook community hall?",
            "Priya Castellan",
            "[1] Notice to residents (notice-browser.png)",
            1,
            ("food bank", "Priya Castellan"),
        ),
    ],
    ids=["pdf", "image"],
)
def test_a_pdf_or_image_citation_opens_its_page_with_the_quote_highlighted(
    tab: Tab,
    tmp_path: Path,
    name: str,
    write: Callable[[Path], Path],
    question: str,
    answer_text: str,
    label: str,
    page: int,
    words: tuple[str, str],
) -> None:
    """The document view shows the cited PDF page (or image) beside the text, the quoted sentence
    marked on it: Tesseract reads the marked region of the image shown in the browser back as the quote."""
    path = write(tmp_path / name)
    upload(tab, path)
    answer = ask(tab, question)
    expect(answer).to_contain_text(answer_text)
    expect(answer.locator("details.source summary").first).to_contain_text(label)
    image = tab.page.locator("#docview img.page-image")
    expect(image).to_have_attribute("alt", f"{name}, page {page}, the quote highlighted", timeout=SLOW)
    expect(image).to_be_visible()
    expect(tab.page.locator("#docview #cited")).to_contain_text(answer_text)  # the text view beside it
    src = image.get_attribute("src") or ""
    assert src.startswith("data:image/png;base64,")
    read = highlighted_text(base64.b64decode(src.split(",", 1)[1]))
    assert all(w in read for w in words), read
    remove(tab, path.name)


def test_markup_in_documents_and_questions_shows_as_text_and_never_runs(tab: Tab, tmp_path: Path) -> None:
    evil = tmp_path / "quillfeather.md"
    evil.write_text(
        "# Quillfeather Society\n\n"
        f"The Quillfeather Society printed the banner {PAYLOADS[0]} above its door in 1887.\n"
        f"Its pamphlet also showed the drawing {PAYLOADS[1]} beside the founders' names.\n",
        encoding="utf-8",
    )
    upload(tab, evil)
    answer = ask(tab, f"{PAYLOADS[1]} What drawing did the Quillfeather pamphlet show?")
    expect(tab.page.locator("#chat [data-testid=user]").last).to_contain_text(PAYLOADS[1])
    expect(answer.locator(".answer")).to_contain_text(PAYLOADS[1])
    source = answer.locator("details.source").first
    source.locator("summary").click()
    expect(source.locator("mark")).to_contain_text(PAYLOADS[1])
    for payload in PAYLOADS:  # the passage and the whole document, as text
        expect(source.locator("blockquote")).to_contain_text(payload)
        expect(tab.page.locator("#docview")).to_contain_text(payload)
    expect(tab.page.locator("#chat img[src=x], #chat script, #docview img, #docview script")).to_have_count(0)
    assert tab.dialogs == []
    remove(tab, evil.name)


def test_each_tab_keeps_its_own_conversation(tab: Tab, browser: Any, ui_server: Server) -> None:
    """Two sessions ask the same follow-up after different first questions; each gets the answer its
    own history gives through the API, and neither sees the other's messages."""
    other = Tab(browser.new_context().new_page())
    other.page.goto(ui_server.url)
    firsts = [COCKELL, LOUGHTON]
    follow_up = "What else did he say about children?"
    api = Client(ui_server.url, verbose=False)
    for session, first in zip([tab, other], firsts, strict=True):
        ask(session, first)
        conversation = history(first, api.predict(first, api_name="/ask"))
        expected = api.predict(follow_up, conversation, api_name="/ask")["answer"]
        expect(ask(session, follow_up).locator(".answer")).to_have_text(expected)
    expect(tab.page.locator("#chat")).not_to_contain_text("Tim Loughton say")
    expect(other.page.locator("#chat")).not_to_contain_text("Merrick Cockell the leader")
    other.page.context.close()


def test_evaluate_a_question_file_and_download_the_run(
    tab: Tab, ui_server: Server, seed_index: Config, tmp_path: Path
) -> None:
    """Two seed questions with their gold fields, one unanswerable and one malformed line: the tab
    shows the figures `rag eval` gives for the same file, names the skipped line, offers the files."""
    page = tab.page
    seeds = (ROOT / "eval" / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join([*seeds, json.dumps(UNANSWERABLE), '{"question": "cut short']) + "\n")
    page.get_by_role("tab", name="Evaluate").click()
    page.locator("#eval-upload input[type=file]").set_input_files(str(questions))

    cli_run = tmp_path / "cli-run"
    args = ["eval", str(questions), "--out", str(cli_run), "--index-dir", str(seed_index.index_dir)]
    assert rag_main(args) == 0  # meanwhile, the same file through `rag eval`
    expected = summary_table(json.loads((cli_run / "summary.json").read_text(encoding="utf-8")))

    expect(page.locator("#eval-status")).to_contain_text("Evaluated 3 questions", timeout=SLOW)
    expect(page.locator("#eval-status")).to_contain_text(str(ui_server.index_dir / "runs"))
    expect(page.locator("#eval-notes")).to_have_text(
        "questions.jsonl:4: not valid JSON (Unterminated string starting at); line skipped"
    )
    rows = page.locator(SUMMARY_ROWS)
    expect(rows).to_have_count(len(expected))
    shown = [row.locator("[role=gridcell]").all_inner_texts() for row in rows.all()]
    assert shown[0] == ["all", "questions", "3", "", ""]
    assert ["refusal", "recall", "1.000", "1", ""] in shown  # one unanswerable question: no interval
    assert shown[:-1] == expected[:-1]  # all but the latency row, which is timing
    assert shown[-1][:2] == expected[-1][:2] == ["latency", "ms p50 / p95 / max"]

    links = {
        name: page.locator(f"#run-files a[download='{name}']")
        for name in ("results.jsonl", "summary.json", "report.html")
    }
    for link in links.values():
        expect(link).to_have_count(1)
    results = page.request.get(links["results.jsonl"].get_attribute("href") or "").text().splitlines()
    cli_results = (cli_run / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert (
        [json.loads(r)["id"] for r in results]
        == [json.loads(r)["id"] for r in cli_results]
        == ["q01", "q02", "3"]
    )

    broken = tmp_path / "broken.jsonl"
    broken.write_text("not json\n", encoding="utf-8")
    page.locator("#eval-upload input[type=file]").set_input_files(str(broken))
    expect(page.locator(".toast-body")).to_contain_text("broken.jsonl: no questions to evaluate")
    expect(page.locator("#eval-status")).to_have_text("broken.jsonl: no questions to evaluate")
    expect(page.locator("#eval-summary")).to_be_hidden()
