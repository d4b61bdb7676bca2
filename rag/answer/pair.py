"""Two trained readers read as one: the MiniLM reader and the e5 one, their logits averaged.

The two were trained from different pretrained encoders with different word pieces (WordPiece and
SentencePiece), so they err apart: averaged, they read gold paragraphs of held-out articles better
than either (the calibration half, EM / F1: MiniLM 0.521 / 0.687, e5 0.504 / 0.665, both 0.545 /
0.705; models/reader-pair/README.md). Their tokens differ, so the logits are summed by character
(spans.CharLogits): a span may begin and end only where both readers' tokens do.

The second reader costs as much again, so it reads only the `second_reads` passages the first finds
most answerable, where the answer comes from, and not those whose first margin is below `second_floor`
(-12: the pair could accept one only where the second reader's margin passed about 17, so a question
the documents do not answer is not read twice); the others keep the first reader's reading. A pair is
a folder holding only a reader.json with `members` (reader folders, relative to it), `weights`,
`second_reads`, `second_floor` and the pair's own calibration.
"""

from __future__ import annotations

import json
from pathlib import Path

from rag.answer.reader import Reader, Reading, calibration_of
from rag.answer.spans import MAX_ANSWER_TOKENS, answer_edges, best_char_span
from rag.errors import UserError

SHIPPED_READER = Path(__file__).resolve().parents[2] / "models" / "reader-pair"  # `reader = "shipped"`


class ReaderPair(Reader):
    """Reads with two reader folders as one (see the module's docstring)."""

    def __init__(self, path: str | Path, max_answer_tokens: int = MAX_ANSWER_TOKENS) -> None:
        super().__init__(path, max_answer_tokens)
        info = self.path / "reader.json"
        try:
            settings = json.loads(info.read_text(encoding="utf-8"))
            members = [self.path / str(m) for m in settings["members"]]
            self.weights = [float(w) for w in settings["weights"]]
            self.second_reads = int(settings["second_reads"])
            self.second_floor = float(settings["second_floor"])
            calibration = calibration_of(settings)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UserError(f"reader pair settings {info} cannot be read: {exc}") from None
        if len(members) != 2 or len(self.weights) != 2 or self.second_reads < 1:
            raise UserError(f"reader pair settings {info}: two members, two weights, second_reads >= 1")
        self.first, self.second = (Reader(m, max_answer_tokens) for m in members)
        self.calibration = calibration

    def warm(self) -> None:
        """Load both readers now (each once)."""
        self.first.warm()
        self.second.warm()

    def _read_pieces(self, question: str, contexts: list[str]) -> list[Reading]:
        """The first reader's readings, those of its `second_reads` most answerable contexts read
        again by both readers' averaged logits, save those below `second_floor`."""
        if not contexts:
            return []
        self.warm()
        windows = self.first.run_windows(question, contexts)
        readings = self.first.readings_of(windows, contexts)
        spans = [i for i, r in enumerate(readings) if r.start is not None and r.margin >= self.second_floor]
        again = sorted(spans, key=lambda i: -readings[i].margin)[: self.second_reads]
        if not again:
            return readings
        mine = self.first.char_logits_of(windows, contexts, again)
        theirs = self.second.char_logits(question, [contexts[i] for i in again])
        for i, a, b in zip(again, mine, theirs, strict=True):
            span = best_char_span([a, b], self.weights, self.max_answer_tokens)
            if span is not None:
                start, end = answer_edges(contexts[i], span[0], span[1])
                readings[i] = Reading(start, end, span[2], span[3])
        return readings


def open_span_reader(path: str | Path | None = None) -> Reader:
    """The reader in `path` (default: the shipped pair): a pair when its reader.json names members."""
    folder = Path(path) if path else SHIPPED_READER
    try:
        is_pair = "members" in json.loads((folder / "reader.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, AttributeError, TypeError):
        is_pair = False  # a missing or damaged file is reported when the reader loads
    return ReaderPair(folder) if is_pair else Reader(folder)
