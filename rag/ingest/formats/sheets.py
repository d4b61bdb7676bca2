"""Spreadsheets (.xlsx through openpyxl, .csv through the standard library's csv) as text: one line
per row, each value named by its column header ("Sheet Budget, row 3: Team: North; Vacancies: 3."),
rows apart by blank lines so each row is a paragraph. Rows past MAX_ROWS and columns past
MAX_COLUMNS are left out with a note."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from rag.errors import LoadError
from rag.ingest.formats.pages import join_pages
from rag.ingest.formats.untrusted import failing_as
from rag.ingest.formats.zipguard import open_zip

MAX_ROWS = 50_000  # per file: a larger sheet is read up to here, with a note
MAX_COLUMNS = 200
_END = (".", "!", "?", ":", ";")


def cell_text(value: object) -> str:
    """A cell as its reader sees it: whole numbers without ".0", dates without midnight."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return " ".join(str(value).split())


def row_line(headers: Sequence[str], values: Sequence[str]) -> str:
    """ "Team: North; Vacancies: 3." — empty cells left out, a column without a header by its number."""
    parts = []
    for i, value in enumerate(values):
        if value:
            name = headers[i] if i < len(headers) and headers[i] else f"Column {i + 1}"
            parts.append(f"{name}: {value}")
    line = "; ".join(parts)
    return line if not line or line.endswith(_END) else line + "."


def table_lines(
    rows: Iterable[tuple[int, Sequence[str]]], label: str, limit: int = MAX_ROWS
) -> tuple[list[str], list[str], bool]:
    """Lines for (row number, cell texts) pairs, the first non-empty row being the headers, each
    line's locator ("sheet Budget, row 3"), and whether `limit` rows cut it short. `label` leads each
    line ("Sheet Budget, " or "")."""
    lines: list[str] = []
    places: list[str] = []
    headers: list[str] | None = None
    for n, (number, values) in enumerate(rows):
        if n >= limit:
            return lines, places, True
        if not any(values):
            continue
        if headers is None:
            headers = list(values)
            lines.append(f"{label}columns: " + "; ".join(v for v in values if v) + ".")
        else:
            lines.append(f"{label}row {number}: {row_line(headers, values)}")
        places.append(f"{label[:1].lower()}{label[1:]}row {number}")
    return lines, places, False


def xlsx_text(
    raw: bytes, path: Path, max_bytes: int | None
) -> tuple[str, str | None, list[str], tuple[tuple[int, str], ...]]:
    """Every sheet's rows, sheet by sheet; the workbook's title; one note on what was left out (rows
    past the limit, later sheets, wide columns); each row's locator ("sheet Budget, row 3")."""
    from openpyxl import load_workbook

    archive = open_zip(raw, path, "spreadsheet (.xlsx)", max_bytes)
    archive.close()
    with failing_as(path, "unreadable spreadsheet"):
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    blocks: list[str] = []
    places: list[str] = []
    cut_at = ""  # the sheet the row limit cut short
    unread: list[str] = []  # sheets after it
    wide: list[str] = []  # sheets with columns past MAX_COLUMNS
    budget = MAX_ROWS  # rows read, over all sheets
    try:
        with failing_as(path, "unreadable spreadsheet"):
            for sheet in book.worksheets:
                if budget <= 0:
                    unread.append(sheet.title)
                    continue
                if (sheet.max_column or 0) > MAX_COLUMNS:
                    wide.append(sheet.title)
                cells = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
                rows = ((i, [cell_text(v) for v in row]) for i, row in enumerate(cells, start=1))
                lines, labels, cut = table_lines(rows, f"Sheet {sheet.title}, ", budget)
                budget -= len(lines)
                if cut:
                    budget, cut_at = 0, sheet.title
                blocks += lines
                places += labels
            title = book.properties.title if book.properties is not None else None
    finally:
        book.close()
    left_out = [
        f"sheet {cut_at} read up to the row limit ({MAX_ROWS:,} rows)" if cut_at else "",
        f"sheet{'s' if len(unread) > 1 else ''} {', '.join(unread)} not read" if unread else "",
        f"columns past {MAX_COLUMNS} not read in sheet{'s' if len(wide) > 1 else ''} {', '.join(wide)}"
        if wide
        else "",
    ]
    notes = [f"{path}: " + "; ".join(n for n in left_out if n)] if any(left_out) else []
    text, starts = join_pages(blocks)
    return text, title or None, notes, tuple(zip(starts, places, strict=True))


def csv_text(text: str, path: Path) -> tuple[str, list[str], tuple[tuple[int, str], ...]]:
    """A decoded CSV file's rows, its dialect sniffed; notes on rows left out; each row's locator."""
    sample = text[:65536]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        rows = ((i, [" ".join(c.split()) for c in row[:MAX_COLUMNS]]) for i, row in enumerate(reader, 1))
        lines, labels, cut = table_lines(rows, "")
    except csv.Error as exc:
        raise LoadError(f"{path}: unreadable CSV ({exc})") from None
    lines = [line[0].upper() + line[1:] for line in lines]
    notes = [f"{path}: read up to the row limit ({MAX_ROWS:,} rows); the rest not indexed"] if cut else []
    joined, starts = join_pages(lines)
    return joined, notes, tuple(zip(starts, labels, strict=True))
