"""Cleaner tests: the real seed articles (scraped pages full of noise) and synthetic documents.

The seeds check that the known noise goes and the known article text stays; the synthetic
documents check that the rules are general and not tuned to the seed strings.
"""

from __future__ import annotations

import random
import textwrap
from functools import cache

import pytest

from rag.ingest.clean import PIECE_CHARS, classify, paragraph_key, repeated_keys, trimmed
from rag.ingest.load import load
from rag.types import Paragraph
from tests.conftest import SEEDS, collapse

SEED_PREFIXES = ["000", "001", "002", "003", "004"]


@cache
def seed(prefix: str) -> tuple[str, tuple[Paragraph, ...]]:
    """(loaded text, paragraphs) of the seed whose file name starts with `prefix`."""
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    text = load(path.name, path).text
    return text, tuple(classify(text))


def kept(prefix: str) -> list[str]:
    return [p.text for p in seed(prefix)[1] if p.kept]


def starting_at(prefix: str, offset: int) -> Paragraph:
    """The paragraph of a seed that begins exactly at `offset` of its text."""
    (par,) = [p for p in seed(prefix)[1] if p.start == offset]
    return par


# --- seeds: offsets and reasons -------------------------------------------------------------


@pytest.mark.parametrize("prefix", SEED_PREFIXES)
def test_paragraph_offsets_point_at_their_text(prefix: str) -> None:
    """Citations are built from offsets, so each paragraph must be its own source slice."""
    text, paragraphs = seed(prefix)
    assert paragraphs
    previous_end = 0
    for p in paragraphs:
        assert previous_end <= p.start < p.end <= len(text)
        assert collapse(text[p.start : p.end]) == p.text
        previous_end = p.end


@pytest.mark.parametrize("prefix", SEED_PREFIXES)
def test_every_dropped_paragraph_says_why(prefix: str) -> None:
    """The audit report lists drops by reason; an empty reason is useless there."""
    dropped = [p for p in seed(prefix)[1] if not p.kept]
    assert dropped
    assert all(p.reason.strip() for p in dropped)


@pytest.mark.parametrize(
    ("prefix", "first", "last"),
    [
        ("000", "Comments(2)", "Leave a comment"),
        ("003", "Comments are closed.", "Comments are closed."),
    ],
)
def test_comment_sections_are_dropped_as_comments(prefix: str, first: str, last: str) -> None:
    """Readers' comments are not the article; the report should say exactly that."""
    text, paragraphs = seed(prefix)
    start, end = text.index(first), text.index(last)
    section = [p for p in paragraphs if start <= p.start <= end]
    assert section
    assert all(not p.kept and p.reason == "comment section" for p in section)


# --- seeds: noise dropped, content kept -----------------------------------------------------

NOISE = [
    "replica watches",
    "Skip over Navigation",
    "Back to News Items Index",
    "Call local rate",
    "Newsletter Sign Up",
    "Privacy Policy",
    "Tags assigned",
    "Related Articles",
    "Next Upcoming Event",
    "Leave a comment",
    "Dear Theresa May",
    "Paul says",
    "Comments are closed",
    "Top of Page",
]


@pytest.mark.parametrize("noise", NOISE)
def test_seed_noise_is_not_kept(noise: str) -> None:
    """Spam, banners, widgets and comments must never reach the index."""
    needle = noise.casefold()
    assert any(needle in seed(prefix)[0].casefold() for prefix in SEED_PREFIXES)
    for prefix in SEED_PREFIXES:
        assert not [p for p in kept(prefix) if needle in p.casefold()]


MUNRO_RECOMMENDATIONS = [
    "Remove the statutory requirement",
    "Free services that work with children",
    "Change the approach to conducting serious case reviews",
    "Introduce a duty on all local services",
    "Require local authorities to protect the discrete roles",
    "Reform Ofsted inspections",
    "Keep experienced social workers on the frontline",
    "Designate a principal child and family social worker",
    "Revise the statutory Working Together",
    "Require employers and higher education institutions",
]


@pytest.mark.parametrize("recommendation", MUNRO_RECOMMENDATIONS)
def test_munro_recommendation_bullets_are_kept(recommendation: str) -> None:
    """Bulleted lists are content: each bullet is a paragraph of its own and is kept."""
    (par,) = [p for p in seed("001")[1] if recommendation in p.text]
    assert par.kept
    assert par.text.startswith("• ")


def test_meg_munn_speech_is_kept_whole() -> None:
    """A long speech with sub-headings sits between spam and navigation; none of it may go."""
    text, paragraphs = seed("002")
    first = text.index("Working together to Safeguard Children\n")
    last = text.index("I would like to thank Westminster Briefing")
    speech = [p for p in paragraphs if first <= p.start <= last]
    assert starting_at("002", first) in speech and starting_at("002", last) in speech
    assert len(speech) >= 40
    assert [p.text for p in speech if not p.kept] == []


def test_adcs_statement_is_kept() -> None:
    """The four quoted paragraphs and their attribution are the whole point of seed 004."""
    quoted = [p for p in seed("004")[1] if p.text.startswith("“")]
    assert len(quoted) == 4
    assert all(p.kept for p in quoted)
    assert "Steve Crocker, ADCS President, said:" in kept("004")


@pytest.mark.parametrize(
    ("prefix", "title"),
    [
        ("000", "Conservative politician: child protection"),
        ("003", "Children’s service providers want to see co-operation"),
    ],
)
def test_article_titles_are_kept(prefix: str, title: str) -> None:
    """Titles are short but say what the article is about; they label the first chunk."""
    assert [p for p in kept(prefix) if p.startswith(title)]


# --- generality: synthetic documents --------------------------------------------------------

PROSE = [
    "The river authority has finished the first stage of its new flood defences, a scheme "
    "that was planned after the winter storms of three years ago left hundreds of homes in the "
    "valley under water for more than a week.",
    "Engineers raised the old embankment by half a metre along a two mile stretch of the river, "
    "and they built a set of steel flood gates near the town bridge that can be closed within an "
    "hour when heavy rain is forecast.",
    "Residents who live close to the water said that they were relieved to see the work "
    "completed before the autumn, although some of them still worry that the defences "
    "downstream of the town have not yet been improved.",
    "The authority says that the second stage, which will protect the farms and villages "
    "further down the valley, should begin next spring if the funding from the national "
    "government is confirmed in the coming months.",
]
COOKIES = "We use cookies to improve your experience. Accept all cookies"
SHARE = "Share on Facebook Share on Twitter"
SPAM = (
    "Cheap designer handbags for sale: buy designer handbags online, the best designer handbags "
    "outlet with discount designer handbags and genuine designer handbags delivered fast, so "
    "order your designer handbags today."
)
COMMENTS = [
    "3 Comments",
    "Really interesting article, I have lived in the valley all my life and the water has never "
    "been this well managed before, so thank you to everyone involved.",
    "I disagree with the previous commenter, because the defences downstream are still a "
    "problem and the authority has been ignoring the farms for years.",
]
FLOOD_ARTICLE = "\n\n".join([COOKIES, PROSE[0], PROSE[1], SHARE, PROSE[2], SPAM, PROSE[3], *COMMENTS])


def verdicts(text: str, repeated: frozenset[str] = frozenset()) -> dict[str, Paragraph]:
    """Paragraphs of `text` by their (collapsed) text."""
    return {p.text: p for p in classify(text, repeated=repeated)}


@pytest.mark.parametrize("paragraph", PROSE)
def test_synthetic_article_prose_is_kept(paragraph: str) -> None:
    """Ordinary prose between boilerplate lines is content, whatever its topic."""
    assert verdicts(FLOOD_ARTICLE)[paragraph].kept


@pytest.mark.parametrize("noise", [COOKIES, SHARE, SPAM, *COMMENTS])
def test_synthetic_article_noise_is_dropped(noise: str) -> None:
    """Cookie and share banners, keyword stuffing and comments go, without naming any site."""
    assert not verdicts(FLOOD_ARTICLE)[noise].kept


PARISH = [
    "The parish council met on Tuesday evening to discuss the state of the footpaths that run "
    "along the edge of the common, which many walkers say have become muddy and dangerous after "
    "the long wet winter.",
    "Several members argued that the council should pay for a gravel surface on the busiest "
    "paths, while others said that the money would be better spent on repairing the stiles and "
    "gates that were damaged by cattle last year.",
    "In the end the council agreed to ask the county for a grant, and to hold a public meeting "
    "in the village hall next month so that residents can say which of the paths matter most.",
]


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_hard_wrapped_paragraphs_stay_whole(newline: str) -> None:
    """Plain-text files wrap lines at ~70 chars; a paragraph is a blank-line block, not a line."""
    text = "\n\n".join(textwrap.fill(p, 70) for p in PARISH).replace("\n", newline)
    assert text.count(newline) > 2 * len(PARISH)
    paragraphs = classify(text)
    assert [p.text for p in paragraphs] == PARISH
    assert all(p.kept for p in paragraphs)


def test_repeated_paragraph_within_a_document_is_dropped_as_duplicate() -> None:
    """The second copy adds nothing and would make a duplicate search hit."""
    first, second = [p for p in classify("\n\n".join([*PARISH, PARISH[0]])) if p.text == PARISH[0]]
    assert first.kept
    assert not second.kept and "duplicate" in second.reason


def test_repeated_keys_needs_at_least_three_documents() -> None:
    """Site-wide furniture shows up in many documents; two sharing a line may be chance."""
    docs = [["footer", "pair", "pair", "pair"], ["footer", "pair"], ["footer", "alone"]]
    assert repeated_keys(docs) == frozenset({"footer"})


def test_paragraph_repeated_across_documents_is_dropped() -> None:
    """classify honours `repeated`: a paragraph it would keep goes once it is site-wide."""
    text = "\n\n".join(PARISH)
    key = paragraph_key(PARISH[1])
    assert verdicts(text)[PARISH[1]].kept
    par = verdicts(text, repeated=frozenset({key}))[PARISH[1]]
    assert not par.kept and "repeated" in par.reason
    assert verdicts(text, repeated=frozenset({key}))[PARISH[0]].kept


FACTS = [
    "The lighthouse on the northern headland was built in 1841 and was first lit by an oil lamp.",
    "Its keepers lived in two small cottages at the foot of the tower until it was automated.",
    "The lamp was converted to electricity in 1926 and can be seen from twenty miles at sea.",
    "Visitors can climb the hundred and twelve steps to the lantern room on summer weekends.",
]


@pytest.mark.parametrize(
    "text",
    ["\n\n".join(FACTS), "\n".join(f"- {fact}" for fact in FACTS)],
    ids=["blank-lines", "bullets"],
)
def test_short_document_of_medium_sentences_is_kept(text: str) -> None:
    """With no long paragraph to anchor on, medium-length content must not be judged boilerplate."""
    paragraphs = classify(text)
    assert len(paragraphs) == len(FACTS)
    assert all(p.kept for p in paragraphs)


def test_a_page_that_lost_its_breaks_is_judged_in_pieces() -> None:
    """A whole report on one line is not one paragraph: two spam words somewhere in it once made all
    of it "spam". Judged in pieces cut at sentence ends, only the piece holding the spam goes."""
    spam = "Buy replica watches and cheap replicas at our casino today."
    prose = [text for prefix in SEED_PREFIXES for text in kept(prefix)]
    middle = len(prose) // 2
    line = " ".join([*prose[:middle], spam, *prose[middle:]])
    paragraphs = classify(line)
    assert len(line) > 10 * PIECE_CHARS
    assert all(p.end - p.start <= PIECE_CHARS for p in paragraphs)
    assert " ".join(p.text for p in paragraphs).split() == line.split()  # every word, in order
    (dropped,) = [p for p in paragraphs if not p.kept]
    assert spam in dropped.text and dropped.reason == "spam"
    assert all(p.text.endswith((".", '"', "”", "’", ")")) for p in paragraphs[:-1] if p.kept)


TECHNICAL = (
    "A Turing machine reads one symbol at a time from a tape. The Turing machine then writes a symbol, "
    "moves the tape one cell to the left or right, and changes its state; a universal Turing machine "
    "can imitate any other Turing machine from a description of it written on the tape."
)
NAMES = (
    "Past chairs of the society include Amara Osei (2019–2023), Tomasz Wielgus (2015–2019), Ingrid "
    "Solberg (2011–2015), Rafael Montoya (2007–2011), Keiko Tanaka (2003–2007), Lucia Ferraro "
    "(2001–2003) and Dmitri Volkov "
    "(1999–2001)."
)


def test_technical_prose_repeating_its_subject_is_not_spam() -> None:
    """A paragraph repeats its subject ("Turing machine") inside grammatical prose and sells nothing;
    keyword stuffing repeats a product among selling words (SPAM above stays dropped)."""
    text = "\n\n".join([PROSE[0], TECHNICAL, PROSE[1]])
    assert verdicts(text)[TECHNICAL].kept
    assert not verdicts(FLOOD_ARTICLE)[SPAM].kept


def test_a_long_list_of_names_inside_an_article_is_kept() -> None:
    """Few stop words mark banners and navigation, but a long list of names among prose is content."""
    text = "\n\n".join([PROSE[0], NAMES, PROSE[1]])
    assert verdicts(text)[NAMES].kept


def test_a_data_dump_is_not_taken_for_a_list_of_names() -> None:
    """Random letters and digits (base64) have next to no stop words: dropped, not judged as a list."""
    rng = random.Random(3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    dump = "".join(rng.choice(alphabet) for _ in range(3000))
    assert not any(p.kept for p in classify(dump))


def test_a_span_is_trimmed_to_its_words() -> None:
    assert trimmed(" Helen Okafor. ", 0, 13) == (1, 13)
    assert trimmed("a  b ", 1, 5) == (3, 4)
    assert trimmed("   ", 0, 3) == (3, 3)
