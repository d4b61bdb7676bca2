"""The shipped reader (models/reader) on real indexes: short answers, refusals, multi-part questions,
and a clear line for a missing or damaged model folder."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer.parts import question_parts
from rag.answer.reader import DEFAULT_READER, Reader, Reading
from rag.config import Config
from rag.engine import Engine
from rag.errors import UserError
from rag.evaluation.evaluate import load_questions
from rag.store.indexer import build_index
from tests.conftest import ROOT, collapse, run_rag

E5_READER = ROOT / "models" / "reader-e5"  # the larger base's reader, the shipped pair's second
# A made-up town's library, so nothing here can be keyed to the seed articles.
LIBRARY = """Marlow Green Library

The library on Church Street opened to readers in 1998, after a long campaign by local parents.

The building was designed by the architect Helen Okafor. Its reading room faces the river and has
room for forty people.

Volunteers run a homework club there on Tuesday and Thursday afternoons. The club is free for
pupils of any school in the district.
"""


@pytest.fixture(scope="module")
def seed_engine(seed_index: Config) -> Iterator[Engine]:
    """The reader alone: these tests are about what it reads, not the composer's fallback."""
    engine = Engine(seed_index.with_(reader="shipped", composer_fallback=False))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def e5_reader() -> Reader:
    """models/reader-e5, loaded once for the tests of it."""
    return Reader(E5_READER)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    docs = tmp_path_factory.mktemp("library-docs")
    (docs / "library.txt").write_text(LIBRARY, encoding="utf-8")
    config = Config(index_dir=tmp_path_factory.mktemp("library-index"), reader="shipped")
    build_index([docs], config)
    engine = Engine(config)
    yield engine
    engine.close()


def test_the_shipped_weights_are_small_and_described() -> None:
    model = DEFAULT_READER / "model.onnx"
    assert model.stat().st_size <= 50 * 1024 * 1024
    card = (DEFAULT_READER / "README.md").read_text(encoding="utf-8")
    assert "SQuAD v1.1" in card and "CC BY-SA 4.0" in card


def test_the_e5_reader_in_training_is_small_described_and_marks_the_fact_alone(e5_reader: Reader) -> None:
    """models/reader-e5, the larger base's reader (the shipped pair's second), whose training goes on: a
    reader folder like the MiniLM one, calibrated, whose SentencePiece spans start at the word."""
    assert (E5_READER / "model.onnx").stat().st_size <= 50 * 1024 * 1024
    card = (E5_READER / "README.md").read_text(encoding="utf-8")
    assert "SQuAD v1.1" in card and "CC BY-SA 4.0" in card and "multilingual-e5-small" in card
    calibration = json.loads((E5_READER / "reader.json").read_text(encoding="utf-8"))["calibration"]
    assert 0 < calibration["threshold"] < 1
    context = LIBRARY.split("\n\n")[2]
    reading = e5_reader.read("Who designed the library building?", [context])[0]
    assert reading.start is not None and context[reading.start : reading.end] == "Helen Okafor"


def test_the_e5_reader_reads_a_line_break_as_a_space(e5_reader: Reader) -> None:
    """A file's passage keeps its line breaks (offsets point into the file); SQuAD's paragraphs, which
    the reader learnt from, have none. The Unigram tokenizer must read a break as the space it stands
    for, not as <unk> gluing the next word to it: the same reading either way."""
    spaced = re.sub(r"\s", " ", LIBRARY)
    as_file, as_line = e5_reader.read("Who designed the library building?", [LIBRARY, spaced])
    assert (as_file.start, as_file.end) == (as_line.start, as_line.end)
    assert LIBRARY[as_file.start : as_file.end] == "Helen Okafor"
    assert as_file.margin == pytest.approx(as_line.margin, abs=1e-4)


def test_every_seed_answer_marks_its_short_answer_at_its_place_in_the_file(seed_engine: Engine) -> None:
    questions = load_questions(ROOT / "eval" / "seed_questions.jsonl")
    answered = 0
    for q in questions:
        answer = seed_engine.ask(str(q["question"]))
        if answer.abstained:
            assert answer.short_answer is None
            continue
        short = answer.short_answer
        assert short is not None
        assert collapse(seed_engine.reader.document_text(short.doc)[short.start : short.end]) == short.text
        cited = answer.citations[short.n - 1]
        assert (cited.doc, cited.chunk_id) == (short.doc, short.chunk_id)
        assert cited.start <= short.start < short.end <= cited.end
        assert short.text in cited.quote
        answered += 1
    assert answered >= len(questions) // 2


def test_passages_below_the_top_one_are_read_only_when_it_holds_no_answer(seed_index: Config) -> None:
    """`reader_first = 1`: an answer found in the top passage is the whole reading (so it cites that
    passage alone, a multi-part question's parts included); where the reader finds none there, the
    rest are read and one of them leads."""
    questions = [str(q["question"]) for q in load_questions(ROOT / "eval" / "seed_questions.jsonl")]
    engine = Engine(seed_index.with_(reader="shipped", reader_first=1, composer_fallback=False))
    try:
        went_on, parts_on_top = 0, 0
        for q in questions[:50]:
            answer = engine.ask(q)
            if answer.abstained:
                continue
            assert answer.short_answer is not None
            top = answer.passages[0]
            if answer.short_answer.chunk_id == top.chunk_id:
                assert {c.chunk_id for c in answer.citations} == {top.chunk_id}
                parts_on_top += bool(question_parts(q))
            else:
                went_on += 1
                _, (reading,) = engine.read(q, [top])
                assert (
                    reading.start is None
                    or engine.span_reader.calibration.probability(  # type: ignore[union-attr]
                        reading.margin
                    )
                    < engine.config.reader_threshold
                )
        assert went_on >= 1 and parts_on_top >= 1
    finally:
        engine.close()


def test_the_fact_itself_is_the_short_answer(library: Engine) -> None:
    answer = library.ask("In which year did the library open?")
    assert not answer.abstained and answer.short_answer is not None
    assert answer.short_answer.text == "1998"
    assert answer.answer.startswith("The library on Church Street opened to readers in 1998")
    assert answer.to_dict()["short_answer"]["text"] == "1998"


def test_the_short_answer_leaves_out_what_the_question_already_says() -> None:
    """Without the echo mark-down the shipped reader answers "police officer attended it, and minutes
    were sent to the family": the asked person, run on into the question's own verb."""
    reader = Reader()
    question = (
        "Along with the social worker, the head teacher and the health visitor, who else attended the "
        "strategy meeting?"
    )
    context = (
        "The strategy meeting was held on Monday. The social worker, the head teacher, the health visitor "
        "and a police officer attended it, and minutes were sent to the family."
    )
    reading = reader.read(question, [context])[0]
    assert reading.start is not None and reading.end is not None
    assert context[reading.start : reading.end] in ("police officer", "a police officer")


def test_an_on_topic_question_whose_fact_is_absent_is_refused(library: Engine) -> None:
    answer = library.ask("How much did it cost to build the library?")
    assert answer.abstained and answer.short_answer is None and answer.citations == []
    assert answer.confidence < Config().reader_threshold


def test_a_two_part_question_gets_both_parts(library: Engine) -> None:
    answer = library.ask("Who designed the library building, and when does the homework club meet?")
    assert not answer.abstained
    assert "Helen Okafor" in answer.answer and "Tuesday and Thursday" in answer.answer


POOL = """Marlow Green Leisure Centre

The swimming pool at the leisure centre opens at seven on weekday mornings and at nine on Sundays.
Lessons for beginners are held on Saturday mornings.
"""


class RecordingReader(Reader):
    """The shipped reader, noting which contexts it was given for which question."""

    def __init__(self) -> None:
        super().__init__()
        self.given: dict[str, list[str]] = {}

    def read(self, question: str, contexts: list[str]) -> list[Reading]:
        self.given.setdefault(question, []).extend(contexts)
        return super().read(question, contexts)


def test_each_part_finds_its_own_passages(tmp_path: Path) -> None:
    """With one passage retrieved for the whole question, the second part's fact is in the other
    document: it is found only because each part is also retrieved alone. A part reads the whole
    question's passages and its own, not the other part's (the same answers, less reading)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "library.txt").write_text(LIBRARY, encoding="utf-8")
    (docs / "pool.txt").write_text(POOL, encoding="utf-8")
    config = Config(index_dir=tmp_path / "index", reader="shipped")
    build_index([docs], config)
    engine = Engine(config)
    engine.span_reader = reader = RecordingReader()
    try:
        answer = engine.ask("Who designed the library building, and when are beginners' lessons held?", k=1)
    finally:
        engine.close()
    assert not answer.abstained and {p.doc for p in answer.passages} == {"library.txt", "pool.txt"}
    assert "Helen Okafor" in answer.answer and "Saturday mornings" in answer.answer
    # the whole question's one passage is the pool's; the second part finds the same, so it reads
    # that alone and not the library's passage, which only the first part retrieved
    assert [c.split()[:3] for c in reader.given["When are beginners' lessons held?"]] == [
        ["Marlow", "Green", "Leisure"]
    ]


def test_rag_ask_with_the_reader_prints_the_short_answer_first(seed_index: Config, tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('reader = "shipped"\n', encoding="utf-8")
    question = "Who chaired the inquiry into the Cleveland child abuse cases?"
    proc = run_rag("ask", question, "--index-dir", str(seed_index.index_dir), "--config", str(settings))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Answer: ") and lines[1] == "" and "[1]" in lines[2]


def test_a_missing_or_damaged_reader_is_one_clear_line(tmp_path: Path, seed_index: Config) -> None:
    with pytest.raises(UserError, match="reader model not found"):
        Reader(tmp_path / "absent").warm()
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "reader.json"):
        (damaged / name).write_bytes((DEFAULT_READER / name).read_bytes())
    (damaged / "model.onnx").write_bytes(b"\x08\x01 not a model")
    settings = tmp_path / "settings.toml"
    for folder, words in ((tmp_path / "absent", "not found"), (damaged, "damaged")):
        settings.write_text(f'reader = "{folder}"\n', encoding="utf-8")
        proc = run_rag(
            "ask",
            "Who leads the council?",
            "--index-dir",
            str(seed_index.index_dir),
            "--config",
            str(settings),
        )
        assert proc.returncode == 2, proc.stderr
        assert (
            proc.stderr.strip().count("\n") == 0 and words in proc.stderr and "Traceback" not in proc.stderr
        )


def test_without_a_reader_the_sentence_composer_answers(seed_index: Config) -> None:
    engine = Engine(seed_index.with_(reader="none"))
    try:
        answer = engine.ask("How often are children in care visited by their social worker?")
    finally:
        engine.close()
    assert answer.short_answer is None and answer.to_dict()["short_answer"] is None


def test_where_the_reader_finds_no_span_the_composers_sentences_answer(seed_engine: Engine) -> None:
    """ "What did she say about X?" asks for a sentence, not the short span a reader trained on SQuAD
    looks for: where the reader finds none, the composer answers if its own check passes."""
    question = (
        "Munro wanted inspections to follow the child through services; what did Meg Munn think of "
        "tracking individual children through the system?"
    )
    fallback = Engine(seed_engine.config.with_(composer_fallback=True))
    try:
        answered = fallback.ask(question)
    finally:
        fallback.close()
    alone = seed_engine.ask(question)
    assert alone.abstained and alone.short_answer is None
    assert not answered.abstained and answered.short_answer is None
    assert {c.doc for c in answered.citations} == {"002_325d7f82ffdefe65.txt"}  # hers, Munro's not
    assert any("is a good one" in c.quote for c in answered.citations)


def test_a_passage_reads_the_same_whatever_is_read_beside_it(seed_index: Config) -> None:
    """The int8 model quantises activations by a batch's range: read beside longer passages (and their
    padding) a passage would get other logits, so its answer would hang on what else was retrieved.
    (The pair reads again only the first reader's likeliest passages: tests/answer/test_pair.py.)"""
    engine = Engine(seed_index.with_(reader=str(DEFAULT_READER), composer_fallback=False))
    question = "Who said safeguarding is everyone's responsibility?"
    passages = engine.search(question).passages
    contexts, together = engine.read(question, passages)
    assert len(contexts) == 5 and len({len(c) for c in contexts}) > 1
    for passage, reading in zip(passages, together, strict=True):
        _, (alone,) = engine.read(question, [passage])
        assert alone == reading
    engine.close()
