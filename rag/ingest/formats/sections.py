"""Sections of documents with headings (.docx, .odt, HTML): a citation says which one its quote is in,
as it names the slide or chapter of other formats. The section is the nearest heading above the quote
("section Findings"); text before the first heading has none. A heading that repeats the document's
title names the document, not a section (the citation shows the title already); a document without
a title of its own is titled by its first heading."""

from __future__ import annotations

import re
from collections.abc import Iterable

# lxml refuses an XML declaration in a str (XHTML pages, e-book chapters carry one)
XML_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")
LABEL_CHARS = 60  # a locator is a short string: a longer heading is cut at a word, with "…"


def section_label(heading: str) -> str:
    words = " ".join(heading.split())
    if len(words) > LABEL_CHARS:
        cut = words.rfind(" ", 0, LABEL_CHARS)
        words = words[: cut if cut > 0 else LABEL_CHARS] + "…"
    return f"section {words}"


def _is_section(heading: str, title: str | None) -> bool:
    words = " ".join(heading.split())
    return bool(words) and words != " ".join((title or "").split())


def join_sections(
    blocks: Iterable[tuple[str, bool]], title: str | None
) -> tuple[str, str | None, tuple[tuple[int, str], ...]]:
    """(text, is a heading) blocks a blank line apart, empty ones left out, the title (`title`, else
    the first heading), and (offset, "section …") where each heading begins."""
    blocks = list(blocks)
    title = title or next((" ".join(b.split()) for b, heading in blocks if heading and b.strip()), None)
    parts: list[str] = []
    locators: list[tuple[int, str]] = []
    offset = 0
    for block, heading in blocks:
        text = block.strip()
        if not text:
            continue
        if heading and _is_section(text, title):
            locators.append((offset, section_label(text)))
        parts.append(text)
        offset += len(text) + 2
    return "\n\n".join(parts), title, tuple(locators)


def heading_lines(text: str, headings: Iterable[str], title: str | None) -> tuple[tuple[int, str], ...]:
    """(offset, "section …") of each line of `text` that is one of `headings` (whitespace collapsed):
    an HTML page's headings found again in the text extracted from it."""
    wanted = {" ".join(h.split()) for h in headings if _is_section(h, title)}
    locators, offset = [], 0
    for line in text.split("\n"):
        words = " ".join(line.split())
        if words in wanted:
            locators.append((offset + len(line) - len(line.lstrip()), section_label(words)))
        offset += len(line) + 1
    return tuple(locators)


def html_headings(html: str) -> list[str]:
    """The text of a page's h1-h6 elements, in order (none when lxml cannot read the page)."""
    import lxml.html

    try:
        root = lxml.html.document_fromstring(XML_DECLARATION.sub("", html))
    except Exception:  # untrusted input; the page's text came through trafilatura already
        return []
    return [str(h.text_content()) for h in root.iter("h1", "h2", "h3", "h4", "h5", "h6")]
