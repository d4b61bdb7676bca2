"""A table passage read row by row.

The spreadsheet and CSV converters write one line per row ("Sheet Budget, row 3: Team: Ostrava depot;
Budget: 48000."). A SQuAD reader has no notion of rows: given several, it often takes a number from
the wrong one (the first row's budget for the second row's team). Read alone, the row that names what
the question asks about wins by a wide margin (12.2 against 2.2 on that example), so a passage holding
several row lines is read as its row lines, each alone, and the text before the first.
"""

from __future__ import annotations

import itertools
import re

# The converters' row line (rag/ingest/formats/sheets.py): an optional "Sheet NAME, " then "row N: ".
_ROW_LINE = re.compile(r"^(?:sheet [^\n]*?, )?row \d+: ", re.IGNORECASE | re.MULTILINE)


def row_segments(context: str) -> list[tuple[int, int]]:
    """The context's pieces to read alone, as start:end offsets covering it: the text before the first
    row line (when not blank), then each row line up to the next; the whole context when it holds
    fewer than two row lines."""
    starts = [m.start() for m in _ROW_LINE.finditer(context)]
    if len(starts) < 2:
        return [(0, len(context))]
    bounds = [*starts, len(context)]
    segments = list(itertools.pairwise(bounds))
    return [(0, starts[0]), *segments] if context[: starts[0]].strip() else segments
