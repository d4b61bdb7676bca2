"""The shipped reader pair (models/reader-pair): the MiniLM and e5 readers' logits summed by character.
Real weights throughout; the character-level span search is checked against the token-level one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answer import Reader, ReaderPair, open_span_reader
from rag.answer.pair import SHIPPED_READER
from rag.answer.reader import DEFAULT_READER
from rag.answer.spans import best_char_span
from rag.config import Config
from tests.answer.test_reader import LIBRARY
from tests.conftest import run_rag

QUESTION = "Who designed the library building?"
PARAGRAPHS = LIBRARY.split("\n\n")


@pytest.fixture(scope="module")
def pair() -> ReaderPair:
    reader = open_span_reader()
    assert isinstance(reader, ReaderPair)
    return reader


def test_the_shipped_reader_is_the_pair_and_a_plain_folder_one_reader() -> None:
    assert isinstance(open_span_reader(SHIPPED_READER), ReaderPair)
    assert type(open_span_reader(DEFAULT_READER)) is Reader
    settings = json.loads((SHIPPED_READER / "reader.json").read_text(encoding="utf-8"))
    assert Config().reader_threshold == settings["calibration"]["threshold"]


def test_one_readers_character_logits_pick_its_own_token_span(pair: ReaderPair) -> None:
    """Reference check: a single reader's span searched by character is the one best_span picks by
    token (same characters, score and no-answer score), for every paragraph of a real text."""
    reader = pair.first
    for question in (QUESTION, "When did the library open?", "Who runs the homework club?"):
        windows = reader.run_windows(question, PARAGRAPHS)
        by_token = reader.readings_of(windows, PARAGRAPHS)
        by_char = reader.char_logits_of(windows, PARAGRAPHS, range(len(PARAGRAPHS)))
        for reading, logits in zip(by_token, by_char, strict=True):
            span = best_char_span([logits], [1.0], reader.max_answer_tokens)
            assert span is not None and reading.start is not None
            assert span[:2] == (reading.start, reading.end)
            assert span[2] == pytest.approx(reading.score) and span[3] == pytest.approx(reading.null)


def test_the_pair_marks_the_fact_where_both_readers_tokens_meet(pair: ReaderPair) -> None:
    """The e5 reader's SentencePiece pieces carry the space before a word; the MiniLM's do not: the
    pair's span still starts at the word, and its margin is the members' weighted margins there."""
    context = PARAGRAPHS[2]
    reading = pair.read(QUESTION, [context])[0]
    assert reading.start is not None and context[reading.start : reading.end] == "Helen Okafor"
    first, second = (
        pair.first.char_logits(QUESTION, [context])[0],
        pair.second.char_logits(QUESTION, [context])[0],
    )
    s, e = reading.start, reading.end
    expected = sum(
        w * (c.start[s] + c.end[e] - c.null) for w, c in zip(pair.weights, (first, second), strict=True)
    )
    assert reading.margin == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("question", "read_again"),
    [
        (QUESTION, 2),
        ("How many goals did the striker score?", 1),
        ("What is the boiling point of mercury?", 0),
    ],
)
def test_only_the_first_readers_likeliest_passages_are_read_again(
    pair: ReaderPair, question: str, read_again: int
) -> None:
    """The second reader reads the `second_reads` passages the first finds most answerable, unless the
    first reader's margin there is below `second_floor`; the others keep the first reader's reading."""
    alone = pair.first.read(question, PARAGRAPHS)
    together = pair.read(question, PARAGRAPHS)
    order = sorted(range(len(PARAGRAPHS)), key=lambda i: -alone[i].margin)
    again = [i for i in order[: pair.second_reads] if alone[i].margin >= pair.second_floor]
    assert pair.second_reads < len(PARAGRAPHS) and len(again) == read_again
    for i in range(len(PARAGRAPHS)):
        if i in again:
            assert together[i] == pair.read(question, [PARAGRAPHS[i]])[0] != alone[i]
        else:
            assert together[i] == alone[i]


GOOD = {
    "members": ["../reader", "../reader-e5"],
    "weights": [0.7, 0.3],
    "second_reads": 2,
    "second_floor": -12,
}


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (GOOD | {"members": ["../absent", "../reader-e5"]}, "not found"),
        (GOOD | {"members": ["../reader"], "weights": [1.0]}, "two members"),
        ({k: v for k, v in GOOD.items() if k != "second_reads"}, "cannot be read"),
    ],
)
def test_a_broken_pair_folder_is_one_clear_line(
    tmp_path: Path, seed_index: Config, settings: dict[str, object], words: str
) -> None:
    models = tmp_path / "models"
    for name in ("reader", "reader-e5"):
        (models / name).mkdir(parents=True)
        for f in SHIPPED_READER.parent.joinpath(name).iterdir():
            (models / name / f.name).symlink_to(f)
    (models / "pair").mkdir()
    (models / "pair" / "reader.json").write_text(json.dumps(settings), encoding="utf-8")
    config = tmp_path / "settings.toml"
    config.write_text(f'reader = "{models / "pair"}"\n', encoding="utf-8")
    proc = run_rag(
        "ask", "Who designed the library?", "--index-dir", str(seed_index.index_dir), "--config", str(config)
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and words in proc.stderr and "Traceback" not in proc.stderr
