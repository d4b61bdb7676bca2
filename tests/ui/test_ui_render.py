"""ui/render.py: everything from documents is escaped; highlights land on the cited span."""

from __future__ import annotations

import html
import re
from dataclasses import replace

from rag.evaluation.report import NOT_MEASURED
from rag.types import Answer, AnswerSentence, Citation, Passage, ShortAnswer
from ui.render import (
    STAGES,
    answer_html,
    bullets,
    document_html,
    generating_html,
    mark,
    mark_quote,
    score_rows,
    sentences,
    spans,
    summary_table,
    text,
)

PAYLOAD = "<script>alert(1)</script> <img src=x onerror=alert(1)> **bold** [x](javascript:alert(1)) & 'q'"
PASSAGE_TEXT = f"Before the quote. The cited {PAYLOAD} sentence. After it."
QUOTE = f"The cited {PAYLOAD} sentence."


def shown(fragment: str) -> str:
    """What a browser displays for an HTML fragment: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def passage(**changes: object) -> Passage:
    values: dict[str, object] = {
        "rank": 1,
        "score": 0.9,
        "doc": "notes <b>.md",
        "chunk_id": "c1",
        "start": 100,
        "end": 100 + len(PASSAGE_TEXT),
        "text": PASSAGE_TEXT,
        "scores": {"dense": 0.5, "bm25": 3.25, "rerank": 0.9},
    }
    return Passage(**{**values, **changes})  # type: ignore[arg-type]


def answer(abstained: bool = False) -> Answer:
    if abstained:
        return Answer("q?", "I couldn't find this in the documents.", True, [], [passage()], {})
    citations = [
        Citation(1, "notes <b>.md", "c1", 118, 118 + len(QUOTE), QUOTE),
        Citation(2, "notes <b>.md", "c1", 0, 16, "Before the quote."),
    ]
    return Answer("q?", f"{QUOTE} [1] Before the quote. [2]", False, citations, [passage()], {})


def test_text_shows_every_character_and_leaves_no_markup() -> None:
    escaped = text(PAYLOAD)
    assert not re.search(r"[<>\"'*\[\]()]", escaped)  # no tag, attribute or Markdown syntax survives
    assert shown(escaped) == PAYLOAD


def test_mark_highlights_the_span_only() -> None:
    body = "one <two> three"
    out = mark(body, 4, 9, "cited")
    assert out == 'one <mark id="cited">&lt;two&gt;</mark> three'
    assert mark(body, 9, 4) == text(body) and mark(body, 0, 99) == text(body)


def test_mark_quote_finds_the_sentence_in_its_passage() -> None:
    out = mark_quote(PASSAGE_TEXT, QUOTE)
    highlighted = re.search(r"<mark>(.*)</mark>", out)
    assert highlighted and shown(highlighted.group(1)) == QUOTE
    assert shown(out) == PASSAGE_TEXT
    assert mark_quote(PASSAGE_TEXT, "not there") == text(PASSAGE_TEXT)


def test_sentences_split_after_each_marker() -> None:
    assert sentences("One. [1] Two [3]. [2] Three? [3]") == ["One. [1]", "Two [3]. [2]", "Three? [3]"]
    assert sentences("I couldn't find this in the documents.") == ["I couldn't find this in the documents."]


def test_answer_html_streams_then_lists_sources_with_the_quote_marked() -> None:
    a = answer()
    first = answer_html(a, 1)
    assert shown(first) == f"{QUOTE} [1]" and "Sources" not in first
    full = answer_html(a)
    assert "<script" not in full and "<img" not in full and "<b>.md" not in full
    assert full.count("<details") == 2 and full.count("<mark>") == 2
    assert "[1] notes <b>.md:" in shown(full) and PAYLOAD in shown(full)


def test_a_source_is_named_by_its_title_and_place_then_its_document_id() -> None:
    a = answer()
    placed = Citation(1, "plans/letter.pdf", "c1", 118, 118 + len(QUOTE), QUOTE, "Housing <i>", 2, "page 2")
    a = Answer(a.question, a.answer, False, [placed], a.passages, {})
    assert "[1] Housing <i> · page 2 (plans/letter.pdf):" in shown(answer_html(a))
    assert [s.label for s in spans(a)] == ["[1] Housing <i> · page 2 (plans/letter.pdf)"]


def test_a_refusal_offers_related_passages_not_sources() -> None:
    out = answer_html(answer(abstained=True))
    assert "Related passages (not evidence for an answer)" in out and "Sources" not in out
    assert "<mark>" not in out and PAYLOAD in shown(out)
    assert answer_html(Answer("q?", "I couldn't find this.", True, [], [], {})).count("<details") == 0


def test_spans_point_at_citations_or_related_passages() -> None:
    labels = [(s.label, s.start) for s in spans(answer())]
    assert labels == [("[1] notes <b>.md", 118), ("[2] notes <b>.md", 0)]
    assert [(s.doc, s.start, s.end) for s in spans(answer(abstained=True))] == [
        ("notes <b>.md", 100, 100 + len(PASSAGE_TEXT))
    ]


def test_document_html_escapes_the_name_and_marks_the_span() -> None:
    body = f"Title\n\n{PASSAGE_TEXT}"
    start = body.index("The cited")
    out = document_html("a<b>.md", body, start, start + len(QUOTE))
    assert '<mark id="cited">' in out and "<b>" not in out and "<script" not in out
    assert shown(out) == "a<b>.md" + body


def test_score_rows_give_every_stage() -> None:
    [row] = score_rows([passage()])
    assert row[:4] == [1, "notes <b>.md", "c1", 0.9]
    stages = dict(zip(STAGES, row[4:8], strict=True))
    assert stages == {"dense": 0.5, "bm25": 3.25, "fused": None, "rerank": 0.9}


def test_summary_table_rounds_shows_nulls_and_keeps_the_group_order() -> None:
    summary = {
        "n": 5,
        "errors": 1,
        "correct": 0.66666,
        "retrieval": {"mrr@10": None, "ndcg@10": 0.12345, "n": {"mrr@10": 0, "ndcg@10": 2}},
        "answer": {"token_f1": 0.26789, "n": {"token_f1": 3}},
        "refusal": {
            "precision": 1.0,
            "recall": 0.5,
            "f1": 0.66667,
            "false_refusal_rate": 0.0,
            "refused": 1,
            "unanswerable": 2,
        },
        "latency_ms": {"p50": None, "p95": None, "max": None},
        "settings": {},
    }
    assert summary_table(summary) == [
        ["all", "questions", "5", "", ""],
        ["all", "correct", "0.667", "4", ""],
        ["all", "failed (see results.jsonl)", "1", "5", ""],
        ["retrieval", "MRR@10", NOT_MEASURED, "0", ""],
        ["retrieval", "nDCG@10", "0.123", "2", ""],
        ["answer", "token F1", "0.268", "3", ""],
        ["refusal", "precision", "1.000", "1", ""],
        ["refusal", "recall", "0.500", "2", ""],
        ["refusal", "F1", "0.667", "2", ""],
        ["refusal", "false refusal rate", "0.000", "2", ""],
        ["latency", "ms p50 / p95 / max", " / ".join([NOT_MEASURED] * 3), "4", ""],
    ]  # a summary written before intervals were: the column stays blank
    intervals = {"correct": [0.3333, 1.0], "answer.token_f1": [0.1, 0.42345], "refusal.recall": [0.0, 1.0]}
    shown = {(row[0], row[1]): row[4] for row in summary_table({**summary, "intervals": intervals})}
    assert shown[("all", "correct")] == "0.333 – 1.000"
    assert shown[("answer", "token F1")] == "0.100 – 0.423"
    assert shown[("refusal", "recall")] == "0.000 – 1.000" and shown[("refusal", "F1")] == ""
    latency = {**summary, "latency_ms": {"p50": 61.234, "p95": 70.0, "max": 99.96}}
    assert summary_table(latency)[-1][2] == "61.2 / 70.0 / 100.0"


def test_bullets_list_messages_as_typed() -> None:
    out = bullets([f"q.jsonl:4: {PAYLOAD}", "second"])
    assert out.startswith("- ") and out.count("\n- ") == 1
    assert "<script" not in out and shown(out) == f"- q.jsonl:4: {PAYLOAD}\n- second"


def test_a_generated_answer_flags_unsupported_sentences_as_text() -> None:
    said = (AnswerSentence(QUOTE, (1,), True), AnswerSentence(f"Made up {PAYLOAD}.", (), False))
    generated = replace(
        answer(), mode="llm", generator="m", sentences=said, note=f"removed citation markers {PAYLOAD}"
    )
    out = answer_html(generated)
    assert "<script" not in out and "<img" not in out
    assert out.count('class="unsupported"') == 1 and "(not supported by its sources)" in out
    assert shown(out).startswith(f"Note: removed citation markers {PAYLOAD}")
    assert f"{QUOTE} [1] Made up {PAYLOAD}. ⚠ (not supported by its sources)" in shown(out)
    assert shown(generating_html(PAYLOAD)) == PAYLOAD and "<script" not in generating_html(PAYLOAD)


def test_a_sentence_the_checker_cited_says_so() -> None:
    said = (AnswerSentence(QUOTE, (1,), True, attributed=True),)
    out = answer_html(replace(answer(), mode="llm", generator="m", sentences=said))
    assert f"{QUOTE} [1] (cited by the checker)" in shown(out) and 'class="unsupported"' not in out


def test_the_short_answer_leads_and_is_marked_in_its_sentence_and_the_document() -> None:
    at = 118 + QUOTE.index(PAYLOAD)
    short = ShortAnswer(PAYLOAD, 1, "notes <b>.md", "c1", at, at + len(PAYLOAD), 4.2)
    a = replace(answer(), short_answer=short)
    out = answer_html(a)
    assert shown(out).startswith(f"Answer: {PAYLOAD}{QUOTE} [1]")
    assert "<script" not in out and "<img" not in out
    emphasised = re.findall(r'<strong class="short">(.*?)</strong>', out)
    assert [shown(e) for e in emphasised] == [PAYLOAD, PAYLOAD]  # in the answer and in source [1]
    first, second = spans(a)
    assert first.short == (short.start, short.end) and second.short is None
    body = " " * 118 + QUOTE
    view = document_html("d", body, first.start, first.end, first.short)
    assert shown(re.search(r'<strong class="short">(.*?)</strong>', view).group(1)) == PAYLOAD  # type: ignore[union-attr]
