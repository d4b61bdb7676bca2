"""A table passage read row by row.

The converters write a table one line per row, as fields: "Sheet Budget, row 3: Team: Ostrava depot;
Budget: 48000." from a spreadsheet, "Team: South; Vacancies: 7." from a table in a document. A SQuAD
reader has no notion of rows: given several, it often takes a number from the wrong one (the first
row's budget for the second row's team). Read alone, the row that names what the question asks about
wins clearly (margin 12.2 against 2.2 on that example), but not always (13.6 for North's row against
12.6 for South's, asked about South). So a passage holding two or more such lines is read as pieces,
each row line alone and each stretch of other text between them, and the passage's answer comes from
the pieces that name most of the question's words that set pieces apart (its key, "South"), as a
person finds the row first and then reads the column.
"""

from __future__ import annotations

import itertools
import re

from rag.answer.normalize import normalize_tokens

# A row line: two or more "Name: value" fields joined by "; " (rag/ingest/formats/sheets.py), short and
# without a sentence break inside, which keeps out prose that happens to hold colons and semicolons
# (none of the seed articles' or the SQuAD test bed's lines is taken for a row).
_ROW_LINE = re.compile(
    r"^(?=[^\n]{0,300}$)(?![^\n]*\. )[^\n:;]{1,80}: [^\n;]*(?:; [^\n:;]{1,80}: [^\n;]*)+$", re.MULTILINE
)


def row_segments(context: str) -> list[tuple[int, int]]:
    """The context's pieces to read alone, as start:end offsets: each row line, and each non-blank
    stretch of other text between them; the whole context when it holds fewer than two row lines."""
    rows = [m.span() for m in _ROW_LINE.finditer(context)]
    if len(rows) < 2:
        return [(0, len(context))]
    bounds = sorted({0, len(context), *itertools.chain.from_iterable(rows)})
    return [(a, b) for a, b in itertools.pairwise(bounds) if context[a:b].strip()]


def field_end(piece: str, start: int, end: int) -> int:
    """Where a span start:end of `piece` ends if it is to stay inside one field: a span of a row line
    running on past "; " holds the next field too ("11; Budget: 48000" asked for the vacancies). A
    piece that is no row line is prose, where "; " joins clauses: its span is left as it is."""
    if not _ROW_LINE.fullmatch(piece.strip()):
        return end
    cut = piece.find("; ", start, end)
    return end if cut <= start else cut


def named(question: str, pieces: list[str]) -> list[int]:
    """For each piece, how many of the question's words it holds among those that tell the rows
    apart: words some row lines hold and others do not ("South", not "vacancies", which every row
    names). No stop list is needed: a word every row holds, or none, does not count."""
    words = set(normalize_tokens(question))
    held = [words & set(normalize_tokens(piece)) for piece in pieces]
    rows = [h for h, piece in zip(held, pieces, strict=True) if _ROW_LINE.fullmatch(piece.strip())]
    keys: set[str] = set().union(*rows) - rows[0].intersection(*rows[1:]) if rows else set()
    return [len(h & keys) for h in held]
