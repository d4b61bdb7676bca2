"""The extractive answer: the right sentence is chosen and cited verbatim, repeats are cited once,
lead-ins keep what they introduce, weak evidence is refused. Real embeddings; passages are built by
hand from a small made-up document so every offset is known exactly."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pytest

from rag.answer.compose import REFUSAL, Composer, Composition, coverage, missing_numbers
from rag.config import Config
from rag.engine import Engine
from rag.search.rerank import Candidate
from rag.store.embed import Embedder
from rag.store.lexical import LexicalIndex, tokenize
from rag.types import Citation, Passage
from tests.conftest import SEEDS, collapse

DEATHS = "Every ten days a child in England\n  dies at the hands of a parent."
REVIEW = "The serious case review made two recommendations about health visitors."
SENTENCES = [
    "Councils in the north reported a shortage of foster carers last year.",  # 0
    DEATHS,  # 1: a line break inside, so the quote must be collapsed
    "The charity runs training courses for teachers and nursery staff.",  # 2
    "Most abuse happens within the family rather than from strangers.",  # 3
    "Parents can phone the council to ask how often the youth club opens.",  # 4: shares question words
    "Budgets for youth clubs fell by a fifth.",  # 5
    REVIEW,  # 6
    "Inspectors will visit children's homes without notice from April.",  # 7
]
PARAPHRASES = [
    ("How frequently is a youngster killed by their mother or father?", 1),
    ("Where does most child abuse come from?", 3),
    ("What will change about inspections of children's homes?", 7),
    ("Has funding for youth services been cut?", 5),
]
NOISE = "What are the opening hours of the advice phone line?"


@dataclass(frozen=True)
class Doc:
    """A made-up source document and passages cut from it, as the indexer and engine would."""

    text: str
    spans: list[tuple[int, int]]
    passages: list[Passage]
    candidates: dict[str, Candidate]
    lexical: LexicalIndex

    def quote(self, i: int) -> str:
        start, end = self.spans[i]
        return collapse(self.text[start:end])


def make_doc(
    embedder: Embedder, sentences: list[str], groups: list[list[int]], scores: list[float] | None = None
) -> Doc:
    """Sentences joined with uneven whitespace; each group of sentence indices becomes one passage."""
    text = "Child safety briefing\n\n"
    spans = []
    for i, sentence in enumerate(sentences):
        text += ("  " if i % 2 else " \n") if i else ""
        spans.append((len(text), len(text) + len(sentence)))
        text += sentence
    text += "\n"
    scores = scores or [1.0 - 0.1 * i for i in range(len(groups))]
    bounds = [(spans[g[0]][0], spans[g[-1]][1]) for g in groups]
    passage_texts = [collapse(text[a:b]) for a, b in bounds]
    sentence_vectors = embedder.encode([collapse(s) for s in sentences])
    passage_vectors = embedder.encode(passage_texts)  # one call each: encoding dominates the run time
    passages, candidates = [], {}
    for row, (group, score) in enumerate(zip(groups, scores, strict=True)):
        p = Passage(
            rank=row + 1,
            score=score,
            doc="briefing.txt",
            chunk_id=f"chunk{row}",
            start=bounds[row][0],
            end=bounds[row][1],
            text=passage_texts[row],
            scores={"rerank": score},
            sentences=tuple(spans[i] for i in group),
            row=row,
        )
        passages.append(p)
        candidates[p.chunk_id] = Candidate(
            row=row,
            text=p.text,
            sentences=[collapse(text[a:b]) for a, b in p.sentences],
            sentence_vectors=sentence_vectors[group],
            vector=passage_vectors[row],
            fused=score,
            bm25=0.0,
        )
    lexical = LexicalIndex.build([p.text for p in passages], np.arange(len(passages)))
    return Doc(text, spans, passages, candidates, lexical)


def compose(embedder: Embedder, composer: Composer, doc: Doc, question: str) -> Composition:
    """What Engine.ask does once retrieval has returned `doc.passages`."""
    vector = embedder.encode([question])[0]
    return composer.compose(
        vector, composer.term_weights(question, doc.lexical), doc.passages, doc.candidates
    )


def assert_well_formed(result: Composition, passages: list[Passage], text_of: dict[str, str]) -> None:
    """Each answer sentence is a verbatim quote followed by " [n]"; markers and citations match 1:1."""
    assert not result.abstained and result.citations
    assert [c.n for c in result.citations] == list(range(1, len(result.citations) + 1))
    assert result.answer == " ".join(f"{c.quote} [{c.n}]" for c in result.citations)
    assert [int(n) for n in re.findall(r"\[(\d+)\]", result.answer)] == [c.n for c in result.citations]
    by_id = {p.chunk_id: p for p in passages}
    for c in result.citations:
        assert c.quote == collapse(text_of[c.doc][c.start : c.end])
        p = by_id[c.chunk_id]
        assert p.doc == c.doc and (c.start, c.end) in p.sentences


def cited(result: Composition) -> list[tuple[int, int]]:
    return [(c.start, c.end) for c in result.citations]


@pytest.fixture(scope="module")
def doc(embedder: Embedder) -> Doc:
    """Three passages overlapping by one sentence, like the chunker's output."""
    return make_doc(embedder, SENTENCES, [[0, 1, 2, 3], [3, 4, 5], [5, 6, 7]])


# Refusal is tested on its own: here the threshold is off so that only the selection is measured.
OPEN = Composer(threshold=0.0)


@pytest.mark.parametrize(("question", "answer"), PARAPHRASES)
def test_the_sentence_answering_a_paraphrase_is_chosen_and_cited(
    embedder: Embedder, doc: Doc, question: str, answer: int
) -> None:
    best = compose(embedder, Composer(threshold=0.0, max_sentences=1), doc, question)
    assert cited(best) == [doc.spans[answer]], best.answer
    assert_well_formed(best, doc.passages, {"briefing.txt": doc.text})
    full = compose(embedder, OPEN, doc, question)
    assert doc.spans[answer] in cited(full)
    assert_well_formed(full, doc.passages, {"briefing.txt": doc.text})


def test_the_quote_is_the_source_with_whitespace_collapsed(embedder: Embedder, doc: Doc) -> None:
    result = compose(embedder, Composer(threshold=0.0, max_sentences=1), doc, PARAPHRASES[0][0])
    (citation,) = result.citations
    assert "\n" in doc.text[citation.start : citation.end]
    assert citation.quote == collapse(DEATHS) and result.answer == f"{collapse(DEATHS)} [1]"


def test_a_sentence_in_two_overlapping_passages_is_cited_once(embedder: Embedder, doc: Doc) -> None:
    """Sentences 3 and 5 sit in two passages each; even with room for everything, each is cited once."""
    everything = Composer(threshold=0.0, max_sentences=50, min_relative=0.0)
    result = compose(embedder, everything, doc, PARAPHRASES[1][0])
    assert sorted(cited(result)) == doc.spans  # every sentence, each exactly once
    assert_well_formed(result, doc.passages, {"briefing.txt": doc.text})


MMR_CASES = [
    pytest.param(DEATHS, PARAPHRASES[0][0], id="moderate-match"),
    pytest.param(
        REVIEW,
        "What did the serious case review recommend about health visitors?",
        id="strong-match",
    ),
]


@pytest.mark.parametrize(("repeated", "question"), MMR_CASES)
def test_a_sentence_repeated_at_two_places_is_chosen_once(
    embedder: Embedder, repeated: str, question: str
) -> None:
    """A pull quote repeats a sentence word for word at another offset; MMR must keep one copy."""
    others = [s for s in SENTENCES if s != repeated]
    sentences = [others[0], repeated, *others[1:3], repeated, *others[3:6]]
    copies = [1, 4]
    dup = make_doc(embedder, sentences, [[0, 1, 2, 3], [4, 5, 6, 7]], [1.0, 1.0])
    no_relative_cut = Composer(threshold=0.0, max_sentences=2, min_relative=0.0)
    # Even with MMR's diversity term off, a word-for-word copy of a chosen sentence never joins.
    plain = compose(
        embedder, Composer(threshold=0.0, max_sentences=2, min_relative=0.0, mmr_lambda=1.0), dup, question
    )
    assert len({c.quote for c in plain.citations}) == len(plain.citations) == 2
    assert sum(span in cited(plain) for span in (dup.spans[i] for i in copies)) == 1
    result = compose(embedder, no_relative_cut, dup, question)
    assert len(result.citations) == 2
    assert len({c.quote for c in result.citations}) == 2, result.answer


LEAD_IN = [
    "Councils in the north reported a shortage of foster carers last year.",
    "Budgets for youth clubs fell by a fifth.",
    "The review made two recommendations{end}",  # the last sentence of the first passage
    "Health visitors should see every newborn baby twice in its first month.",  # opens the second
    "Most abuse happens within the family rather than from strangers.",
]


@pytest.mark.parametrize(("end", "expected"), [(":", [2, 3]), (".", [2])])
def test_a_chosen_lead_in_brings_the_sentence_it_introduces(
    embedder: Embedder, end: str, expected: list[int]
) -> None:
    """ "...two recommendations:" alone says nothing; the next sentence, even in the next passage, is the
    content. A sentence ending in "." stands alone."""
    sentences = [s.format(end=end) for s in LEAD_IN]
    lead = make_doc(embedder, sentences, [[0, 1, 2], [3, 4]])
    result = compose(
        embedder, Composer(threshold=0.0, max_sentences=1), lead, "What did the review recommend?"
    )
    assert cited(result) == [lead.spans[i] for i in expected], result.answer
    assert_well_formed(result, lead.passages, {"briefing.txt": lead.text})


@pytest.mark.parametrize("n", [1, 2, 4])
def test_max_sentences_is_respected(embedder: Embedder, doc: Doc, n: int) -> None:
    result = compose(
        embedder, Composer(threshold=0.0, max_sentences=n, min_relative=0.0), doc, PARAPHRASES[2][0]
    )
    assert len(result.citations) == n
    assert_well_formed(result, doc.passages, {"briefing.txt": doc.text})


def test_min_relative_cuts_weak_extra_sentences(embedder: Embedder, doc: Doc) -> None:
    """One sentence answers fully; the others are far weaker and only pad the answer."""
    question = "What did the serious case review recommend about health visitors?"
    strict = compose(embedder, Composer(threshold=0.0, min_relative=0.8), doc, question)
    loose = compose(embedder, Composer(threshold=0.0, min_relative=0.0), doc, question)
    assert cited(strict) == [doc.spans[6]]
    assert len(loose.citations) == 3 and doc.spans[6] in cited(loose)


def confidence_of(embedder: Embedder, doc: Doc, question: str) -> float:
    vector = embedder.encode([question])[0]
    return Composer().confidence(
        vector, OPEN.term_weights(question, doc.lexical), doc.passages, doc.candidates
    )


@pytest.mark.parametrize("question", [PARAPHRASES[0][0], PARAPHRASES[2][0], NOISE])
def test_evidence_below_the_threshold_is_refused(embedder: Embedder, doc: Doc, question: str) -> None:
    confidence = confidence_of(embedder, doc, question)
    refused = compose(embedder, Composer(threshold=confidence + 0.01), doc, question)
    assert (refused.answer, refused.citations, refused.abstained) == (REFUSAL, [], True)
    assert refused.confidence == pytest.approx(confidence)
    answered = compose(embedder, Composer(threshold=confidence - 0.01), doc, question)
    assert not answered.abstained and answered.citations and answered.answer != REFUSAL
    assert answered.confidence == pytest.approx(confidence)


def test_an_unrelated_question_has_less_confidence_than_an_answerable_one(
    embedder: Embedder, doc: Doc
) -> None:
    noise = confidence_of(embedder, doc, NOISE)
    assert noise < confidence_of(embedder, doc, PARAPHRASES[2][0])
    assert noise < Composer().threshold  # the shipped threshold refuses it
    assert compose(embedder, Composer(), doc, NOISE).abstained


@pytest.mark.parametrize("question_word", ["did", "which", "what", "who", "most", "how"])
def test_question_words_carry_no_weight(doc: Doc, question_word: str) -> None:
    """Rare in prose, so their IDF is high; they would make any sentence that uses them look relevant."""
    weights = OPEN.term_weights(
        f"{question_word.capitalize()} youth clubs {question_word} teachers?", doc.lexical
    )
    assert set(weights) == set(tokenize(["youth clubs teachers"])[0])


def test_a_term_the_collection_never_mentions_weighs_most(doc: Doc) -> None:
    weights = OPEN.term_weights("Did the zeppelin train teachers at youth clubs?", doc.lexical)
    absent, rare, common = weights["zeppelin"], weights["teacher"], weights["youth"]
    assert absent > rare > common  # "teachers": one passage; "youth": two


def test_content_words_of_the_corpus_keep_their_weight(doc: Doc) -> None:
    weights = OPEN.term_weights("How many children died in council care?", doc.lexical)
    assert set(tokenize(["children died council care"])[0]) <= set(weights)


@pytest.mark.parametrize(
    ("weights", "text", "expected"),
    [
        ({"child": 1.0, "kill": 2.0}, "A child was killed.", 1.0),
        ({"child": 1.0, "kill": 2.0}, "Budgets fell by a fifth.", 0.0),
        ({"child": 1.0, "kill": 3.0}, "Two were killed.", 0.75),  # stems match: killed → kill
        ({}, "A child was killed.", 0.0),
        ({"child": 0.0}, "A child.", 0.0),
    ],
)
def test_coverage_is_the_share_of_question_weight_present(
    weights: dict[str, float], text: str, expected: float
) -> None:
    assert coverage(weights, text) == pytest.approx(expected)


def cited_places(citations: list[Citation]) -> list[tuple[int, str, int, int, str]]:
    return [(c.n, c.doc, c.start, c.end, c.quote) for c in citations]


@pytest.fixture(scope="module")
def engine(seed_index: Config) -> Engine:
    e = Engine(seed_index)
    e.warm()
    return e


def test_on_the_seed_index_the_answer_quotes_the_seed_files(engine: Engine) -> None:
    """The same composition Engine.ask returns, built from its retrieval internals, checks out against
    the seed files; the overlapping chunks of the real index cite no sentence twice."""
    question = "How often is a child killed by a parent in England and Wales?"
    found = engine.pipeline.retrieve(question, 5)
    weights = engine.composer.term_weights(question, engine.reader.lexical)
    result = engine.composer.compose(
        found.vector, weights, found.passages, engine.pipeline.candidates_for(found)
    )
    texts = {p.doc: (SEEDS / p.doc).read_text(encoding="utf-8") for p in found.passages}
    assert_well_formed(result, found.passages, texts)
    assert "every 10 days a child is killed" in result.answer
    assert len(set(cited(result))) == len(result.citations)
    answer = engine.ask(question)
    assert answer.answer == result.answer
    assert cited_places(answer.citations) == cited_places(result.citations)  # the engine adds titles


@pytest.mark.parametrize(
    ("question", "texts", "missing"),
    [
        ("What changed in 2017?", ["Reforms came in 2013."], ["2017"]),
        ("What changed in 2013?", ["Reforms came in 2013."], []),
        ("How much was given for 2011/12?", ["£79.9m for 2011/12."], []),
        ("Who chairs the panel?", ["Nothing numeric."], []),
        ("Were 65% of deaths caused by parents, or 70%?", ["65% of child deaths"], ["70"]),
        # in words, as a cardinal or an ordinal, however hyphenated, with or without "and"
        ("What did she do for 20 years?", ["She worked in child safety for over Twenty years."], []),
        ("Who came 21st?", ["She came twenty-first."], []),
        ("Who came 21st?", ["She came twenty first."], []),
        ("What is in 105 homes?", ["In one hundred and five homes…", "None in 2000."], []),
        ("What is in 105 homes?", ["In one hundred five homes…"], []),
        ("What did 1,000 children say?", ["One thousand children said so."], []),
        ("What did 20 children say?", ["Twenty-one children said so."], ["20"]),  # a whole number
        ("What did 2.5 million say?", ["Two point five million said so."], ["2.5"]),  # digits only
        ("Is it " + "9" * 5000 + "?", ["Nine said so."], ["9" * 5000]),  # a hostile number, no error
        # thousands separators or none: one number; a comma that separates no thousands stays
        ("Are 64000 children away?", ["64,000 children live away."], []),
        ("Are 64,000 children away?", ["64000 children live away."], []),
        ("Are 1,000,000 children away?", ["1000000 live away."], []),
        ("Is it 1,5?", ["15 live away."], ["1,5"]),
    ],
)
def test_missing_numbers(question: str, texts: list[str], missing: list[str]) -> None:
    """A number the question names must appear in some passage, or the question is unanswerable."""
    passages = [Passage(i + 1, 1.0, "d.txt", f"c{i}", 0, len(t), t, {}) for i, t in enumerate(texts)]
    assert missing_numbers(question, passages) == missing


def test_a_time_question_answered_without_a_time_is_refused(embedder: Embedder, doc: Doc) -> None:
    """ "When…" is answered only by a sentence offering a time; the right topic alone is not enough."""
    asked = "When will inspectors visit children's homes without notice?"
    vector = embedder.encode([asked])[0]
    answered = OPEN.compose(
        vector, OPEN.term_weights(asked, doc.lexical), doc.passages, doc.candidates, asked
    )
    assert not answered.abstained and doc.quote(7) in answered.answer
    asked = "When did budgets for youth clubs fall by a fifth?"
    vector = embedder.encode([asked])[0]
    refused = OPEN.compose(vector, OPEN.term_weights(asked, doc.lexical), doc.passages, doc.candidates, asked)
    assert refused.abstained and refused.answer == REFUSAL


def test_a_truncated_teaser_is_not_chosen_as_an_answer(embedder: Embedder) -> None:
    """A title cut short with "..." names a topic; the sentence with the content answers."""
    sentences = [
        "Panel response: the review of youth club budgets...",
        "Budgets for youth clubs fell by a fifth after the review.",
    ]
    teaser = make_doc(embedder, sentences, [[0, 1]])
    result = compose(embedder, OPEN, teaser, "What happened to youth club budgets after the review?")
    assert result.citations and all(c.quote == teaser.quote(1) for c in result.citations)


def test_names_weigh_half_when_picking_sentences(doc: Doc) -> None:
    """The subject's name finds the passage; the answering sentence often says "she" instead."""
    question = "What did Eileen Munro say about budgets?"
    weights = OPEN.term_weights(question, doc.lexical)
    halved = OPEN._sentence_weights(weights, question)
    names = set(tokenize(["Eileen Munro"])[0])
    assert names and names <= set(weights)
    for term, weight in weights.items():
        assert halved[term] == pytest.approx(weight * 0.5 if term in names else weight)


def test_a_list_item_without_a_full_stop_can_answer(embedder: Embedder) -> None:
    """Bullet points rarely end in a full stop; unlike a title, they still say something."""
    sentences = [
        "Youth club budgets",  # a title: short and unpunctuated
        "• Cut youth club budgets by a fifth and close the smallest clubs",
        "The council met on Tuesday.",
    ]
    listing = make_doc(embedder, sentences, [[0, 1, 2]])
    result = compose(embedder, OPEN, listing, "What did the council do to youth club budgets?")
    assert [c.quote for c in result.citations] == [listing.quote(1)]
