"""The trained reader: finds the asked fact as a span of a passage, or says the passage lacks it.

A MiniLM span reader trained here on SQuAD v1.1 (`make reader`, models/reader/README.md), shipped as
an int8 ONNX file and run with ONNX Runtime: about 3x faster than torch on a laptop CPU, with a
measured quality cost in the model card. The model loads lazily, once per process.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.features import clip_question, content_vocabulary, encode
from rag.answer.rows import field_end, named, row_segments
from rag.answer.spans import (
    MAX_ANSWER_TOKENS,
    CharLogits,
    WindowTokens,
    answer_edges,
    best_span,
    char_logits,
    window_echo,
    window_sequences,
)
from rag.errors import UserError
from rag.ingest import trimmed
from rag.store import cpu_session, is_runtime_error

DEFAULT_READER = Path(__file__).resolve().parents[2] / "models" / "reader"
MODEL_FILE = "model.onnx"


@dataclass(frozen=True)
class Calibration:
    """P(answerable) = sigmoid(a * margin + b), fitted by logistic regression (eval/calibrate_reader.py),
    shipped in the model folder's reader.json, since it belongs to those weights."""

    a: float = 1.0
    b: float = 0.0

    def probability(self, margin: float) -> float:
        z = self.a * margin + self.b
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def accepts(self, reading: Reading, threshold: float) -> bool:
        """Whether the reader gives this reading as an answer: a span whose calibrated probability
        reaches `threshold` (the one test the answer's lead, its further sentences and the engine's
        choice to read on share)."""
        return reading.start is not None and self.probability(reading.margin) >= threshold


@dataclass(frozen=True)
class Reading:
    """The reader's verdict on one context: the best span's characters start:end in it (None when the
    context is empty), the span's score, and the "no answer" score (the lowest over its windows)."""

    start: int | None
    end: int | None
    score: float
    null: float

    @property
    def margin(self) -> float:
        """How much the best span beats "no answer": above 0 the reader finds an answer here."""
        return self.score - self.null


UNREAD = Reading(None, None, float("-inf"), 0.0)  # a context with no span: empty, or left unread


class Reader:
    """Reads (question, context) pairs with the shipped or a given reader folder."""

    def __init__(self, path: str | Path | None = None, max_answer_tokens: int = MAX_ANSWER_TOKENS) -> None:
        if not 1 <= max_answer_tokens <= 100:
            raise UserError("max_answer_tokens must be between 1 and 100")
        self.path = Path(path) if path else DEFAULT_READER
        self.max_answer_tokens = max_answer_tokens
        self._lock = threading.Lock()
        self._session: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._tokenizer: Any = None
        self._content_ids = np.zeros(0, dtype=bool)
        self.calibration = Calibration()

    def warm(self) -> None:
        """Load the model and its tokenizer now (once); a missing or damaged folder is one clear error."""
        with self._lock:
            if self._session is not None:
                return
            model = self.path / MODEL_FILE
            if not model.is_file():
                raise UserError(
                    f"reader model not found: {model} (restore models/reader or run `make reader`)"
                )
            try:
                from transformers import AutoTokenizer
                from transformers.utils import logging as transformers_logging

                transformers_logging.set_verbosity_error()
                tokenizer = AutoTokenizer.from_pretrained(str(self.path))
                session = cpu_session(model, threads=1)
            except (OSError, ValueError, RuntimeError, json.JSONDecodeError) as exc:
                raise UserError(
                    f"reader model in {self.path} cannot be loaded: {str(exc).splitlines()[0]}"
                ) from None
            except Exception as exc:  # onnxruntime raises its own classes for a damaged file
                if is_runtime_error(exc):
                    raise UserError(
                        f"reader model {model} is damaged: {str(exc).splitlines()[0][:200]}"
                    ) from None
                raise
            self.calibration = read_calibration(self.path / "reader.json")
            self._content_ids = content_vocabulary(tokenizer)
            self._tokenizer, self._session = tokenizer, session
            self._pool = ThreadPoolExecutor(max_workers=_cores(), thread_name_prefix="reader")

    def read(self, question: str, contexts: list[str]) -> list[Reading]:
        """One Reading per context, offsets into it. A table passage is read in the pieces
        `row_segments` cuts it into (row by row), and its reading is the best of the pieces that
        name most of the question's key (`named`), its span kept to one field
        (`field_end`); any other passage is read whole."""
        pieces: list[str] = []
        spans: list[list[tuple[int, int]]] = []
        for context in contexts:
            spans.append(row_segments(context))
            pieces += [context[a:b] for a, b in spans[-1]]
        readings = iter(self._read_pieces(question, pieces))
        out = []
        for context, segments in zip(contexts, spans, strict=True):
            read = [(r, a, b) for (a, b), r in zip(segments, readings, strict=False) if r.start is not None]
            if len(segments) > 1 and read:  # a table: the pieces that name the question's key
                counts = named(question, [context[a:b] for _, a, b in read])
                read = [x for x, n in zip(read, counts, strict=True) if n == max(counts)]
            if not read:
                out.append(UNREAD)
                continue
            r, shift, stop = max(read, key=lambda x: x[0].margin)
            start, end = r.start or 0, r.end or 0
            if len(segments) > 1:  # a row's answer is one field's value
                end = field_end(context[shift:stop], start, end)
            out.append(Reading(start + shift, end + shift, r.score, r.null))
        return out

    def _read_pieces(self, question: str, contexts: list[str]) -> list[Reading]:
        """One Reading per context."""
        if not contexts:
            return []
        return self.readings_of(self.run_windows(question, contexts), contexts)

    def char_logits(self, question: str, contexts: list[str]) -> list[CharLogits]:
        """Each context's logits by character (spans.CharLogits), to be summed with another reader's."""
        if not contexts:
            return []
        return self.char_logits_of(self.run_windows(question, contexts), contexts, range(len(contexts)))

    def run_windows(self, question: str, contexts: list[str]) -> Windows:
        """The model's start and end logits over each window of the contexts. Each window runs alone,
        unpadded: the int8 model quantises its activations by the range of the whole batch, so a
        window read beside others (and their padding) would get other logits, and a passage's reading
        would depend on what was retrieved with it. Alone it reads the same every time. The windows
        run side by side, one core each, in one session: on 2 cores five windows take about 108 ms
        against 147 ms one after the other on both cores (a batch was slower still: ask p50 189 ms
        against 157 ms in turn)."""
        self.warm()
        assert self._pool is not None
        with self._lock:  # a fast tokenizer sets its truncation per call: "Already borrowed" if shared
            question = clip_question(self._tokenizer, question)
            enc = encode(self._tokenizer, [question] * len(contexts), contexts)
        windows = len(enc["input_ids"])
        width = max(len(ids) for ids in enc["input_ids"])
        ids = np.zeros((windows, width), dtype=np.int64)
        types = np.zeros_like(ids)
        for w in range(windows):
            n = len(enc["input_ids"][w])
            ids[w, :n] = enc["input_ids"][w]
            types[w, :n] = enc["token_type_ids"][w]
        start_logits = np.zeros((windows, width), dtype=np.float32)
        end_logits = np.zeros_like(start_logits)

        def run(w: int) -> None:
            n = len(enc["input_ids"][w])
            feed = {"input_ids": ids[w : w + 1, :n], "attention_mask": np.ones((1, n), dtype=np.int64)}
            starts, ends = self._session.run(None, feed | {"token_type_ids": types[w : w + 1, :n]})
            start_logits[w, :n], end_logits[w, :n] = starts[0], ends[0]

        list(self._pool.map(run, range(windows)))
        return Windows(enc, ids, start_logits, end_logits)

    def readings_of(self, windows: Windows, contexts: list[str]) -> list[Reading]:
        """The best span of each context over its windows."""
        enc, width = windows.enc, windows.ids.shape[1]
        best: dict[int, Reading] = {}
        for w in range(len(windows.ids)):
            c = enc["overflow_to_sample_mapping"][w]
            sequences = window_sequences(enc.sequence_ids(w), width)
            echo = window_echo(windows.ids[w], sequences, self._content_ids)
            span = best_span(windows.start[w], windows.end[w], sequences == 1, self.max_answer_tokens, echo)
            if span is None:
                continue
            offsets = enc["offset_mapping"][w]
            prior = best.get(c)
            null = span.null if prior is None else min(prior.null, span.null)
            if prior is None or span.score > prior.score:
                start, end = answer_edges(contexts[c], offsets[span.first][0], offsets[span.last][1])
                best[c] = Reading(start, end, span.score, null)
            else:
                best[c] = Reading(prior.start, prior.end, prior.score, null)
        return [best.get(i, UNREAD) for i in range(len(contexts))]

    def char_logits_of(self, windows: Windows, contexts: list[str], which: Iterable[int]) -> list[CharLogits]:
        """CharLogits of the contexts numbered `which`, from their windows."""
        enc, width = windows.enc, windows.ids.shape[1]
        tokens: dict[int, list[WindowTokens]] = {c: [] for c in which}
        for w in range(len(windows.ids)):
            c = enc["overflow_to_sample_mapping"][w]
            if c not in tokens:
                continue
            sequences = window_sequences(enc.sequence_ids(w), width)
            content, echoed = window_echo(windows.ids[w], sequences, self._content_ids)
            where = np.flatnonzero(sequences == 1)
            offsets = enc["offset_mapping"][w]
            chars = np.array([trimmed(contexts[c], *offsets[t]) for t in where], dtype=np.int64).reshape(
                -1, 2
            )
            null = float(windows.start[w, 0] + windows.end[w, 0])
            tokens[c].append(
                WindowTokens(
                    windows.start[w, where], windows.end[w, where], chars, content[where], echoed[where], null
                )
            )
        return [char_logits(len(contexts[c]), found) for c, found in tokens.items()]


@dataclass(frozen=True)
class Windows:
    """A reader's run over some contexts: the tokenizer's windows (`enc`), their padded ids, and the
    start and end logits of each window's tokens."""

    enc: Any
    ids: np.ndarray
    start: np.ndarray
    end: np.ndarray


def _cores() -> int:
    """The cores this process may run on (its affinity where the system reports one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return max(1, len(affinity(0)) if affinity else os.cpu_count() or 1)


def read_calibration(info: Path) -> Calibration:
    """The model's calibration from its reader.json (identity, i.e. refuse below margin 0, when the
    folder has no such file or the file no calibration)."""
    if not info.exists():
        return Calibration()
    try:
        return calibration_of(json.loads(info.read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError) as exc:
        raise UserError(f"reader settings {info} cannot be read: {exc}") from None


def calibration_of(settings: dict[str, Any]) -> Calibration:
    """The calibration in a reader.json's parsed settings (identity where it has none)."""
    data = settings.get("calibration") or {}
    return Calibration(float(data.get("a", 1.0)), float(data.get("b", 0.0)))
