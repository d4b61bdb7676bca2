"""Word-processor and presentation files as text: .docx through python-docx, .pptx through
python-pptx, .odt through odfpy. Paragraphs and headings in document order, blank lines apart; a
table row keeps its header names ("Team: North; Vacancies: 3."); slides one by one, each led by
"Slide N: title", with its body text, tables and speaker notes."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.ingest.formats.pages import join_pages
from rag.ingest.formats.sections import join_sections
from rag.ingest.formats.sheets import MAX_COLUMNS, MAX_ROWS, row_line
from rag.ingest.formats.untrusted import failing_as
from rag.ingest.formats.zipguard import open_zip

Locators = tuple[tuple[int, str], ...]  # (offset, "section Findings"), as rag.types.Places keeps them


def table_text(rows: Sequence[Sequence[str]]) -> str:
    """A table's rows, the first as headers, one line each; merged cells (repeated) once."""
    cleaned = [_unrepeat([" ".join(c.split()) for c in row[:MAX_COLUMNS]]) for row in rows[:MAX_ROWS]]
    cleaned = [row for row in cleaned if any(row)]
    if len(cleaned) < 2:
        return "\n".join("; ".join(c for c in row if c) for row in cleaned)
    headers, body = cleaned[0], cleaned[1:]
    return "\n".join(row_line(headers, row) for row in body)


def _unrepeat(cells: list[str]) -> list[str]:
    """A merged cell reads as the same text in each column it spans: keep the first."""
    return [c if i == 0 or c != cells[i - 1] else "" for i, c in enumerate(cells)]


def _guarded(raw: bytes, path: Path, what: str, max_bytes: int | None) -> io.BytesIO:
    open_zip(raw, path, what, max_bytes).close()
    return io.BytesIO(raw)


def docx_text(raw: bytes, path: Path, max_bytes: int | None) -> tuple[str, str | None, Locators]:
    """A Word document's body (paragraphs, headings, tables), its title (else its first heading),
    and where each section (a Heading-styled paragraph) begins."""
    import docx
    from docx.table import Table

    what = "Word document (.docx)"
    with failing_as(path, f"unreadable {what}"):
        document = docx.Document(_guarded(raw, path, what, max_bytes))
        blocks = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.append((table_text([[cell.text for cell in row.cells] for row in item.rows]), False))
            else:
                style = (item.style.name or "") if item.style is not None else ""
                blocks.append((item.text, style.lower().startswith("heading")))
        title = document.core_properties.title
    return join_sections(blocks, title)


def pptx_text(raw: bytes, path: Path, max_bytes: int | None) -> tuple[str, str | None, tuple[int, ...]]:
    """A presentation slide by slide ("Slide N: title", its text and tables, then "Notes: …"), its
    title (else its first slide's), and where each slide begins (slides are its pages)."""
    from pptx import Presentation

    what = "presentation (.pptx)"
    with failing_as(path, f"unreadable {what}"):
        deck = Presentation(_guarded(raw, path, what, max_bytes))
        slides: list[str] = []
        headings: list[str] = []
        for number, slide in enumerate(deck.slides, start=1):
            title_shape = slide.shapes.title
            title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
            headings.append(title)
            blocks = [f"Slide {number}: {title}" if title else f"Slide {number}"]
            skip = title_shape.shape_id if title_shape is not None else None
            blocks += _shape_texts(slide.shapes, skip)
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                notes = slide.notes_slide.notes_text_frame.text.strip()
                if notes:
                    blocks.append(f"Notes: {notes}")
            slides.append(_join(blocks))
        named = deck.core_properties.title or next((h for h in headings if h), None)
    text, starts = join_pages(slides)
    return text, named or None, starts


def _shape_texts(shapes: Iterable[Any], skip: int | None) -> Iterator[str]:
    for shape in shapes:
        if shape.shape_id == skip:
            continue
        if shape.shape_type is not None and hasattr(shape, "shapes"):  # a group
            yield from _shape_texts(shape.shapes, None)
        elif getattr(shape, "has_table", False) and shape.has_table:
            yield table_text([[cell.text for cell in row.cells] for row in shape.table.rows])
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield from (p.strip() for p in shape.text_frame.text.split("\n"))


def odt_text(raw: bytes, path: Path, max_bytes: int | None) -> tuple[str, str | None, Locators]:
    """An OpenDocument text's headings, paragraphs, lists and tables, in order, its title (else its
    first heading), and where each section (a heading) begins."""
    from odf import opendocument

    what = "OpenDocument text (.odt)"
    with failing_as(path, f"unreadable {what}"):
        document = opendocument.load(_guarded(raw, path, what, max_bytes))
        blocks = list(_odf_blocks(document.text))
        titles = document.getElementsByType(_odf_title())
        title = _odf_plain(titles[0]) if titles else None
    return join_sections(blocks, title)


def _odf_title() -> Any:
    from odf.dc import Title

    return Title


def _odf_plain(element: Any) -> str:
    from odf import teletype

    return str(teletype.extractText(element))


def _odf_blocks(element: Any) -> Iterator[tuple[str, bool]]:
    """(text, is a heading) of each block."""
    for child in element.childNodes:
        name = getattr(child, "qname", (None, None))[1]
        if name in ("h", "p"):
            yield _odf_plain(child), name == "h"
        elif name == "table":
            rows = [
                [
                    _odf_plain(cell)
                    for cell in row.childNodes
                    if getattr(cell, "qname", ("", ""))[1] == "table-cell"
                ]
                for row in _odf_rows(child)
            ]
            yield table_text(rows), False
        elif name in ("list", "list-item", "list-header", "section", "table-header-rows", "table-rows"):
            yield from _odf_blocks(child)


def _odf_rows(table: Any) -> Iterator[Any]:
    for child in table.childNodes:
        name = getattr(child, "qname", (None, None))[1]
        if name == "table-row":
            yield child
        elif name in ("table-header-rows", "table-rows", "table-row-group"):
            yield from _odf_rows(child)


def _join(blocks: Iterable[str]) -> str:
    """Blocks a blank line apart, empty ones left out (so offsets match what was joined)."""
    return "\n\n".join(b.strip() for b in blocks if b.strip())
