"""The reader's answer from given readings: which sentences, which short answer, when it refuses."""

from __future__ import annotations

import numpy as np

from rag.answer.from_reader import as_asked, compose
from rag.answer.parts import question_parts
from rag.answer.reader import UNREAD, Calibration, Reading
from rag.search.rerank import Candidate
from rag.types import Passage

DOC = "The bridge opened in 1932.  It was designed by\nJohn Bradfield. Its arch spans 503 metres."
OTHER = "A second bridge opened in 1932 as well, designed by Ralph Freeman."


def passage(doc: str, text: str, chunk: str, sentences: list[tuple[int, int]]) -> Passage:
    return Passage(1, 1.0, doc, chunk, 0, len(text), " ".join(text.split()), {}, tuple(sentences))


def candidate(p: Passage, text: str, vectors: list[list[float]]) -> Candidate:
    """The reranker's view of passage `p` of document `text`: its sentences as the pipeline gives them
    (whitespace collapsed), one given vector per sentence."""
    v = np.array(vectors, dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return Candidate(0, p.text, [" ".join(text[a:b].split()) for a, b in p.sentences], v, v[0], 0.0, 0.0)


SENTENCES = [(0, 26), (28, 63), (64, len(DOC))]
P1 = passage("a.txt", DOC, "a#0", SENTENCES)
P2 = passage("b.txt", OTHER, "b#0", [(0, len(OTHER))])
CANDIDATES = {
    "a#0": candidate(P1, DOC, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]),
    "b#0": candidate(P2, OTHER, [[1, 1, 0]]),
}
TEXTS = {"a.txt": DOC, "b.txt": OTHER}
AT = DOC.index("John")


def test_the_short_answer_is_the_files_text_in_the_sentence_cited_first() -> None:
    readings = [Reading(AT, AT + 14, 9.0, 1.0), Reading(None, None, float("-inf"), 0.0)]
    out = compose([P1, P2], readings, CANDIDATES, TEXTS, Calibration(), 0.5, 3)
    assert not out.abstained and out.short_answer is not None
    assert out.short_answer.text == "John Bradfield" == DOC[out.short_answer.start : out.short_answer.end]
    first = out.citations[0]
    assert (first.start, first.end, first.quote) == (28, 63, "It was designed by John Bradfield.")
    assert out.short_answer.n == first.n == 1 and out.short_answer.score == 8.0
    assert out.confidence == Calibration().probability(8.0)


def test_a_span_across_sentences_cites_both() -> None:
    readings = [Reading(DOC.index("Bradfield"), DOC.index("arch") + 4, 5.0, 1.0)]
    out = compose([P1], readings, CANDIDATES, TEXTS, Calibration(), 0.5, 3)
    assert out.citations[0].start == 28 and out.citations[0].end == len(DOC)


def test_a_sentence_ending_in_a_colon_is_cited_with_the_next_one_in_its_passage() -> None:
    """Before, "Speaking in Leeds, he told delegates:" was cited alone, without what he told them."""
    text = "Speaking in Leeds, he told delegates: \u201cWe must act.\u201d He left at noon."
    said, left = text.index("\u201cWe"), text.index("He left")
    quoted = passage("c.txt", text, "c#0", [(0, said - 1), (said, left - 1), (left, len(text))])
    vectors = {"c#0": candidate(quoted, text, [[1, 0, 0], [0, 1, 0], [0, 0, 1]])}
    at = text.index("Leeds")
    out = compose([quoted], [Reading(at, at + 5, 9.0, 1.0)], vectors, {"c.txt": text}, Calibration(), 0.5, 3)
    assert [(c.start, c.end) for c in out.citations] == [(0, left - 1)]
    assert out.citations[0].quote == "Speaking in Leeds, he told delegates: \u201cWe must act.\u201d"
    # the passage's last sentence has no next one in the passage: cited as it is
    last = passage("d.txt", text[: said - 1], "d#0", [(0, said - 1)])
    out = compose(
        [last],
        [Reading(at, at + 5, 9.0, 1.0)],
        {"d#0": candidate(last, text, [[1, 0, 0]])},
        {"d.txt": text},
        Calibration(),
        0.5,
        3,
    )
    assert out.citations[0].quote == "Speaking in Leeds, he told delegates:"


def test_below_the_threshold_it_refuses() -> None:
    readings = [Reading(AT, AT + 14, 1.0, 3.0)]  # "no answer" wins by 2
    out = compose([P1], readings, CANDIDATES, TEXTS, Calibration(), 0.5, 3)
    assert out.abstained and out.citations == [] and out.short_answer is None
    assert out.confidence < 0.5
    shifted = Calibration(a=1.0, b=4.0)  # a calibration that trusts smaller margins answers
    assert not compose([P1], readings, CANDIDATES, TEXTS, shifted, 0.5, 3).abstained


def test_another_passage_joins_only_with_a_distinct_answer_of_its_own() -> None:
    at = OTHER.index("Ralph")
    readings = [Reading(AT, AT + 14, 9.0, 1.0), Reading(at, at + 12, 7.0, 2.0)]
    out = compose([P1, P2], readings, CANDIDATES, TEXTS, Calibration(), 0.5, 3)
    assert [c.doc for c in out.citations] == ["a.txt", "b.txt"]
    weak = [Reading(AT, AT + 14, 9.0, 1.0), Reading(at, at + 12, 7.0, 8.0)]  # no answer there
    assert len(compose([P1, P2], weak, CANDIDATES, TEXTS, Calibration(), 0.5, 3).citations) == 1
    same = OTHER.index("1932")
    year = DOC.index("1932")
    repeats = [Reading(year, year + 4, 9.0, 1.0), Reading(same, same + 4, 8.0, 1.0)]
    assert len(compose([P1, P2], repeats, CANDIDATES, TEXTS, Calibration(), 0.5, 3).citations) == 1
    assert len(compose([P1, P2], readings, CANDIDATES, TEXTS, Calibration(), 0.5, 1).citations) == 1


def test_a_lower_passage_leads_only_when_its_margin_beats_the_higher_ones_by_a_place() -> None:
    at = OTHER.index("Ralph")
    close = [Reading(AT, AT + 14, 4.0, 1.0), Reading(at, at + 13, 4.5, 1.0)]  # margins 3 and 3.5
    out = compose([P1, P2], close, CANDIDATES, TEXTS, Calibration(), 0.5, 3)
    assert out.short_answer is not None and out.short_answer.text == "John Bradfield"
    assert [c.doc for c in out.citations] == ["a.txt", "b.txt"]
    surer = [Reading(AT, AT + 14, 4.0, 1.0), Reading(at, at + 13, 9.0, 1.0)]  # margins 3 and 8
    out = compose([P1, P2], surer, CANDIDATES, TEXTS, Calibration(), 0.5, 3)
    assert out.short_answer is not None and out.short_answer.text == "Ralph Freeman"
    assert [c.doc for c in out.citations] == ["b.txt", "a.txt"]
    ranked_only = compose([P1, P2], surer, CANDIDATES, TEXTS, Calibration(), 0.5, 3, rank_penalty=1e9)
    assert ranked_only.short_answer is not None and ranked_only.short_answer.text == "John Bradfield"
    declined = [Reading(AT, AT + 14, 4.0, 6.0), Reading(at, at + 13, 9.0, 1.0)]  # passage 1 refused
    out = compose([P1, P2], declined, CANDIDATES, TEXTS, Calibration(), 0.5, 3)
    assert out.short_answer is not None and out.short_answer.text == "Ralph Freeman"
    assert [c.doc for c in out.citations] == ["b.txt"]


def test_nothing_read_is_a_refusal() -> None:
    out = compose([P1], [Reading(None, None, float("-inf"), 0.0)], CANDIDATES, TEXTS, Calibration(), 0.5, 3)
    assert out.abstained and out.confidence == 0.0


def test_each_part_of_a_two_part_question_brings_its_sentence() -> None:
    year = DOC.index("1932")
    whole = [Reading(AT, AT + 14, 9.0, 1.0)]  # the whole question's best span: the designer
    part = [Reading(year, year + 4, 6.0, 1.0)]  # the "when" part's: the year, another sentence
    out = compose([P1], whole, CANDIDATES, TEXTS, Calibration(), 0.5, 3, parts=[whole, part])
    assert [c.quote for c in out.citations] == [
        "It was designed by John Bradfield.",
        "The bridge opened in 1932.",
    ]
    assert out.short_answer is not None and out.short_answer.text == "John Bradfield"


def test_a_part_whose_best_span_is_the_leads_offers_its_next_one() -> None:
    year = OTHER.index("1932")
    whole = [Reading(AT, AT + 14, 9.0, 1.0), Reading(None, None, float("-inf"), 0.0)]
    part = [Reading(AT, AT + 14, 9.0, 1.0), Reading(year, year + 4, 6.0, 1.0)]  # the lead again, then
    out = compose([P1, P2], whole, CANDIDATES, TEXTS, Calibration(), 0.5, 3, parts=[part])
    assert [c.doc for c in out.citations] == ["a.txt", "b.txt"]
    unsure = [part[0], Reading(year, year + 4, 6.0, 8.0)]  # the next one is no answer: nothing joins
    out = compose([P1, P2], whole, CANDIDATES, TEXTS, Calibration(), 0.5, 3, parts=[unsure])
    assert len(out.citations) == 1


def test_a_parts_answer_is_the_one_standing_first_as_for_the_lead() -> None:
    """By margin over "no answer", a place lower costing `rank_penalty`, not by the raw span score:
    the lower passage's "Ralph Freeman" scores higher (9 against 8) but is surer of no answer."""
    year, freeman = DOC.index("1932"), OTHER.index("Ralph")
    whole = [Reading(AT, AT + 14, 9.0, 1.0), Reading(None, None, float("-inf"), 0.0)]
    part = [Reading(year, year + 4, 8.0, 1.0), Reading(freeman, freeman + 13, 9.0, 4.0)]
    out = compose([P1, P2], whole, CANDIDATES, TEXTS, Calibration(), 0.5, 2, parts=[part])
    assert [c.quote for c in out.citations] == [
        "It was designed by John Bradfield.",
        "The bridge opened in 1932.",
    ]


def test_questions_split_where_a_new_question_word_opens_a_clause() -> None:
    assert question_parts("Who designed the bridge, and when did it open?") == [
        "Who designed the bridge?",
        "When did it open?",
    ]
    assert question_parts("Where is it and how long is its arch?") == [
        "Where is it?",
        "How long is its arch?",
    ]
    assert question_parts("Who ran the bread and butter shop?") == []
    assert question_parts("What happened and why?") == []  # "why" alone leans on the rest
    assert question_parts("According to Munro, what stops staff from helping children?") == []
    assert question_parts("Under the plans, who would lead it and when would it start?") == [
        "Under the plans, who would lead it?",
        "When would it start?",
    ]
    assert question_parts("In which year did it open, and who designed it?") == [
        "In which year did it open?",
        "Who designed it?",
    ]


def test_more_parts_than_a_person_asks_are_read_as_one_question() -> None:
    """Each part is retrieved and read alone: pasted text of many "…, and who…" pieces is not split."""
    four = "Who designed it, and when did it open, and who paid for it, and where does it stand?"
    assert len(question_parts(four)) == 4
    assert question_parts(four.replace("?", ", and why was it built so big?")) == []


def test_a_new_clause_may_open_with_a_preposition() -> None:
    assert question_parts("The architect designed which bridge, and in what town?") == [
        "The architect designed which bridge?",
        "In what town?",
    ]
    assert question_parts("Who paid for it, and from which fund did the money come?") == [
        "Who paid for it?",
        "From which fund did the money come?",
    ]


def test_a_piece_that_asks_nothing_stays_with_the_piece_after_it() -> None:
    """Before, "Besides a new roof" was read alone as a question and brought a sentence of its own."""
    assert question_parts("Besides a new roof, what did the library get in 2004?") == []
    assert question_parts("The council rebuilt the library; what did the architect add?") == []
    assert question_parts("The council rebuilt it; who designed it, and when did it reopen?") == [
        "The council rebuilt it, who designed it?",
        "When did it reopen?",
    ]


def test_below_even_odds_a_further_sentence_does_not_join_however_low_the_threshold() -> None:
    at = OTHER.index("Ralph")
    unsure = [Reading(AT, AT + 14, 4.0, 1.0), Reading(at, at + 13, 1.0, 1.5)]  # P(answerable) 0.38
    out = compose([P1, P2], unsure, CANDIDATES, TEXTS, Calibration(), 0.3, 3)
    assert not out.abstained and [c.doc for c in out.citations] == ["a.txt"]
    alone = compose([P2], unsure[1:], CANDIDATES, TEXTS, Calibration(), 0.3, 3)  # as the lead it answers
    assert not alone.abstained and [c.doc for c in alone.citations] == ["b.txt"]
    surer = [unsure[0], Reading(at, at + 13, 2.0, 1.5)]  # 0.62
    assert len(compose([P1, P2], surer, CANDIDATES, TEXTS, Calibration(), 0.3, 3).citations) == 2


def test_a_span_not_of_the_kind_asked_is_dropped_and_the_rest_kept() -> None:
    """ "When…" keeps 1932 and drops the designer's name; "Who…" asks for no kind and keeps both, and
    so does a multi-part question's whole reading (`check_kind` off)."""
    year, name = Reading(DOC.index("1932"), DOC.index("1932") + 4, 6.0, 1.0), Reading(AT, AT + 14, 9.0, 1.0)
    contexts = [DOC, DOC, ""]
    readings = [year, name, UNREAD]
    assert as_asked("When did the bridge open?", contexts, readings) == [year, UNREAD, UNREAD]
    assert as_asked("Who designed the bridge?", contexts, readings) == readings
    assert as_asked("When did the bridge open?", contexts, readings, check_kind=False) == readings


def test_a_span_naming_the_one_whose_words_are_asked_about_is_dropped() -> None:
    """Asked what Bradfield said, his own name is no answer; asked what the council said, it is."""
    name, arch = Reading(AT, AT + 14, 9.0, 1.0), Reading(DOC.index("503"), DOC.index("503") + 10, 5.0, 1.0)
    contexts, readings = [DOC, DOC], [name, arch]
    assert as_asked("Who did Bradfield say should build it?", contexts, readings) == [UNREAD, arch]
    assert as_asked("Who should build it, according to John Bradfield?", contexts, readings) == [UNREAD, arch]
    assert as_asked("Who did the council say should build it?", contexts, readings) == readings
    first = Reading(AT, AT + 4, 9.0, 1.0)  # "John": the document's fuller form of Bradfield's name
    assert as_asked("Who did Bradfield say should build it?", contexts, [first, arch]) == [UNREAD, arch]
