"""Chunker: exact offsets, nothing lost, nothing over the model window, stable ids."""

from __future__ import annotations

import hashlib
import itertools
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.ingest.chunk import chunk_document, split_sentences
from rag.ingest.clean import classify, split_paragraphs
from rag.store import IndexReader
from rag.store.embed import Embedder
from rag.types import Chunk, Document, Paragraph
from tests.conftest import SEEDS, collapse


def make_doc(text: str, page_starts: tuple[int, ...] = ()) -> Document:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Document("t.txt", "/t.txt", text, "txt", digest, len(text), 0, None, page_starts)


def all_kept(text: str) -> list[Paragraph]:
    return [Paragraph(b.start, b.end, b.text, True, "test") for b in split_paragraphs(text)]


def assert_chunks_valid(text: str, chunks: list[Chunk], embedder: Embedder, cap: int) -> None:
    for c in chunks:
        assert collapse(text[c.start : c.end]) == c.text
        assert c.sentences[0][0] == c.start and c.sentences[-1][1] == c.end
        assert all(c.start <= s < e <= c.end for s, e in c.sentences)
    sizes = embedder.count_tokens([c.text for c in chunks])
    assert max(sizes, default=0) <= cap


def covered(chunks: list[Chunk], length: int) -> list[bool]:
    mask = [False] * length
    for c in chunks:
        mask[c.start : c.end] = [True] * (c.end - c.start)
    return mask


def test_seed_chunks_map_back_to_the_original_files(seed_index, embedder: Embedder) -> None:
    reader = IndexReader(seed_index.index_dir)
    chunks = list(reader.chunks())
    reader.close()
    assert len(chunks) >= 30
    for c in chunks:
        source = (SEEDS / c.doc).read_text(encoding="utf-8")
        assert collapse(source[c.start : c.end]) == c.text
        for s, e in c.sentences:
            assert collapse(source[s:e]) in c.text
    assert max(embedder.count_tokens([c.text for c in chunks])) <= embedder.window


def test_every_kept_word_of_every_seed_is_in_some_chunk(embedder: Embedder) -> None:
    for path in sorted(SEEDS.iterdir()):
        text = path.read_text(encoding="utf-8")
        paragraphs = classify(text)
        chunks = chunk_document(make_doc(text), paragraphs, embedder.count_tokens, 200, 1, embedder.window)
        mask = covered(chunks, len(text))
        for p in paragraphs:
            lost = [i for i in range(p.start, p.end) if not mask[i] and not text[i].isspace()]
            assert p.kept is bool(mask[p.start]), p.text[:60]
            assert not (p.kept and lost), f"{path.name}: {text[lost[0] : lost[0] + 40]!r} lost"


def test_chunk_ids_are_stable_and_unique(embedder: Embedder) -> None:
    text = (SEEDS / "002_325d7f82ffdefe65.txt").read_text(encoding="utf-8")
    first = chunk_document(make_doc(text), classify(text), embedder.count_tokens)
    again = chunk_document(make_doc(text), classify(text), embedder.count_tokens)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert len({c.chunk_id for c in first}) == len(first)
    edited = text.replace("every 10 days", "every ten days")
    changed = chunk_document(make_doc(edited), classify(edited), embedder.count_tokens)
    same = {c.chunk_id for c in first} & {c.chunk_id for c in changed}
    assert len(same) == len(first) - 1  # only the edited chunk gets a new id


def test_a_sentence_longer_than_the_window_is_split_not_truncated(embedder: Embedder) -> None:
    words = [f"word{i % 97} and" for i in range(700)]
    text = "Intro sentence here.\n\n" + " ".join(words) + " end.\n\nLast one."
    chunks = chunk_document(make_doc(text), all_kept(text), embedder.count_tokens, 200, 1, embedder.window)
    assert_chunks_valid(text, chunks, embedder, embedder.window)
    mask = covered(chunks, len(text))
    assert all(mask[i] or text[i].isspace() for i in range(len(text)))
    assert len(chunks) >= 4


def test_overlap_repeats_one_sentence_between_neighbours(embedder: Embedder) -> None:
    sentences = [f"Sentence number {i} talks about safeguarding duty {i}." for i in range(60)]
    text = " ".join(sentences)
    chunks = chunk_document(make_doc(text), all_kept(text), embedder.count_tokens, 60, 1)
    assert len(chunks) > 3
    for a, b in itertools.pairwise(chunks):
        assert b.sentences[0] == a.sentences[-1]


def test_a_lead_in_ending_in_a_colon_stays_with_what_it_announces(embedder: Embedder) -> None:
    """ "He told delegates:" at a chunk's end would be cited alone, without what he told them: it
    opens the next chunk instead, and no text is lost."""
    sentences = [
        f"Speaker {i} addressed the conference and told delegates:" if i % 4 == 3 else f"Point {i} was made."
        for i in range(81)
    ]
    text = "\n\n".join(sentences)  # each its own paragraph, as a speech's lead-in is on a web page
    chunks = chunk_document(make_doc(text), all_kept(text), embedder.count_tokens, 40, 1)
    assert_chunks_valid(text, chunks, embedder, 40)
    assert all(covered(chunks, len(text))[i] or text[i].isspace() for i in range(len(text)))
    lead_ins = [s for c in chunks for s in c.sentences if text[s[0] : s[1]].endswith(":")]
    assert lead_ins and all(not text[c.start : c.end].endswith(":") for c in chunks)


def test_hard_wrapped_lines_do_not_end_sentences() -> None:
    text = "Each agency would have a duty to\npool staff and resources as necessary. Next one."
    spans = split_sentences(text, 0, len(text))
    assert [collapse(text[s:e]) for s, e in spans] == [
        "Each agency would have a duty to pool staff and resources as necessary.",
        "Next one.",
    ]


def test_abbreviations_do_not_end_sentences() -> None:
    text = "Dr. Marietta Higgs gave evidence in 1987. It was later discredited."
    assert len(split_sentences(text, 0, len(text))) == 2


def test_pdf_chunks_carry_page_numbers(embedder: Embedder) -> None:
    page1 = "First page talks about serious case reviews in detail. " * 30
    page2 = "Second page covers inspections by Ofsted and their frequency. " * 30
    text = page1 + "\n\n" + page2
    doc = make_doc(text, page_starts=(0, len(page1) + 2))
    chunks = chunk_document(doc, all_kept(text), embedder.count_tokens)
    assert {c.page for c in chunks if "First page" in c.text[:20]} == {1}
    assert {c.page for c in chunks if c.text.startswith("Second page")} == {2}


_alphabet = string.ascii_letters + "      .,;!?'\"“”’—-\n\t0123456789éü"
_texts = st.text(alphabet=_alphabet, min_size=1, max_size=3000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_texts, max_tokens=st.integers(16, 120), overlap=st.integers(0, 2))
def test_property_no_text_lost_and_offsets_valid(
    embedder: Embedder, text: str, max_tokens: int, overlap: int
) -> None:
    paragraphs = all_kept(text)
    chunks = chunk_document(make_doc(text), paragraphs, embedder.count_tokens, max_tokens, overlap, 254)
    assert_chunks_valid(text, chunks, embedder, 254)
    mask = covered(chunks, len(text))
    assert all(mask[i] or text[i].isspace() for i in range(len(text)))
    assert all(a.start <= b.start for a, b in itertools.pairwise(chunks))


@pytest.mark.parametrize("overlap", [0, 1, 2])
def test_chunks_respect_the_requested_size(embedder: Embedder, overlap: int) -> None:
    text = (SEEDS / "004_e56172278690337e.txt").read_text(encoding="utf-8")
    chunks = chunk_document(make_doc(text), classify(text), embedder.count_tokens, 100, overlap)
    sizes = embedder.count_tokens([c.text for c in chunks])
    assert max(sizes) <= 100 + 5  # joins between sentences may add a word piece or two
