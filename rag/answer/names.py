"""Names a question asks about that the documents it was answered from never name.

"Who chairs the Child Safeguarding Practice Review Panel?" is not answered by documents that never
mention that panel, however close their topic: a reader trained on SQuAD, where the question's names
are always in the paragraph, finds some other chair there. This is the names' twin of the numbers
check (`rag.answer.compose.missing_numbers`), made tolerant of how people write names: in any case,
with a possessive, as one part of a hyphenated pair, without accents, as the acronym of a name the
documents spell out ("LGA" for "Local Government Association"), or misspelt ("Feyman" for Feynman).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

from rag.answer.answer_type import AUXILIARY

# capitalised, not opening the question or one of its sentences
_NAME = re.compile(r"(?<!^)(?<![.?!;:] )(?<![.?!;:]\s\s)\b[A-Z][\w’'-]*[\w]")
_WORD = re.compile(r"[^\W_]+")  # letters and digits, as a name may hold both ("R101", "M25")
_CONNECTORS = frozenset({"of", "and", "for", "the", "on", "in", "&"})
_CAPITALISED = r"[A-Z][^\W\d_]*(?:['’]s)?"
_LINK = r"\s+(?:(?:" + "|".join(map(re.escape, sorted(_CONNECTORS))) + r")\s+)?"
_CAPITALISED_RUN = re.compile(_CAPITALISED + r"(?:" + _LINK + _CAPITALISED + ")+")
# a name of two or more capitalised words: "Sir Merrick Cockell", "Mary O'Brien", "Jean-Paul Sartre"
MULTI_WORD_NAME = re.compile(r"\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)+")
_POSSESSIVE = re.compile(r"['’]s?$")
_CLOSE = 0.8  # difflib ratio at which a word of the documents is taken for a misspelling of the name
_LONGEST_ACRONYM = 8  # initials of at most this many words (a run of capitals can be a whole heading)
_SHORTEST_FUZZY = 5  # shorter names must be spelt as the documents spell them ("Kari" is not "Karl")


def _plain(text: str) -> str:
    """Case and accents folded away: "Liège" and "liege" are one name."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _pieces(text: str) -> frozenset[str]:
    """The words of `text` as names are compared: folded (`_plain`), split at anything not a letter
    or digit ("O'Brien" is "o" and "brien")."""
    return frozenset(_WORD.findall(_plain(text)))


@lru_cache(maxsize=64)  # the same few documents answer question after question
def _words(text: str) -> frozenset[str]:
    return _pieces(text)


def holds_name(text: str, name: str) -> bool:
    """Whether `text` (a short one: a span, a sentence) holds every word of `name`."""
    return _pieces(name) <= _pieces(text)


@lru_cache(maxsize=64)
def _spellings(text: str) -> dict[str, str]:
    """Initials of every run of two or more capitalised words, and of each run's shorter stretches,
    each with the stretch it abbreviates (the first `text` has): "the Local Safeguarding Children
    Board" gives LSCB, SCB, LS, …; a word in capitals counts whole ("World War II", WWII)."""
    out: dict[str, str] = {}
    for run in _CAPITALISED_RUN.findall(text):
        words = run.split()
        main = [n for n, w in enumerate(words) if w not in _CONNECTORS]
        initials = [words[n] if words[n].isupper() else words[n][0] for n in main]
        for i in range(len(main)):
            for j in range(i + 2, min(i + _LONGEST_ACRONYM, len(main)) + 1):
                out.setdefault("".join(initials[i:j]).casefold(), " ".join(words[main[i] : main[j - 1] + 1]))
    return out


_ACRONYM = re.compile(rf"\b([A-Z]{{2,{_LONGEST_ACRONYM}}})s?\b")  # "LGA", "LSCBs"


def spelled_out(question: str, documents: Iterable[str]) -> str:
    """`question` with each acronym that `documents` never write, but spell out, followed by that
    spelling in brackets: "Who leads the LGA?" over articles naming "the Local Government
    Association" and never "LGA" becomes "Who leads the LGA (Local Government Association)?". An
    acronym the documents write, or spell out no way, stays as it is."""
    acronyms = list(dict.fromkeys(_ACRONYM.findall(question)))
    if not acronyms:
        return question
    texts = list(documents)
    words = frozenset().union(*(_words(t) for t in texts))
    spellings: dict[str, str] = {}
    for text in texts:  # the first document's spelling, as the caller ranks them
        spellings = _spellings(text) | spellings
    for acronym in acronyms:
        key = acronym.casefold()
        written = re.search(rf"\b{acronym}s?\b", question)
        if written and not {key, key + "s"} & words and key in spellings:
            question = f"{question[: written.end()]} ({spellings[key]}){question[written.end() :]}"
    return question


# "Which London borough does …": the words between the question word and the first auxiliary, none of
# them an auxiliary or a preposition, describe the answer ("London borough"); in "What percentage of
# Hondurans have…" the name after "of" is what the question is about
_PREPOSITION = (
    r"(?:of|from|in|on|at|by|for|with|about|among|between|to|into|over|under|after|before|since|during"
    r"|until|through|within|without|against|across|near|like|than|per)"
)
_DESCRIPTION = re.compile(
    rf"^\W*(?:which|what|whose)\s+(?P<description>(?:(?!{AUXILIARY}|{_PREPOSITION}\b)[\w’'-]+\s+)+?)"
    + AUXILIARY,
    re.IGNORECASE,
)


def question_names(question: str) -> list[str]:
    """The names a question uses, each hyphenated pair as its parts, possessives taken off."""
    parts = (p for name in _NAME.findall(question) for p in _POSSESSIVE.sub("", name).split("-"))
    return [p for p in parts if len(p) > 1]


def anchoring_names(question: str) -> list[str]:
    """The names the answer must be about: the question's names, less those describing the answer
    itself when it names something else too. "Which London borough does Cockell lead?" is about
    Cockell; an article saying he leads "the Royal Borough of Kensington and Chelsea" answers it
    without ever writing "London", which the asker knows and the document need not say. A question
    naming nothing else ("Which London borough has the most children in care?") keeps the name."""
    names = question_names(question)
    described = _DESCRIPTION.match(question)
    if described is None:
        return names
    about = question_names(question[described.end("description") :])
    return about or names


# "Who did Cockell say…?", "What does the Education Secretary think…?", "…, according to Munn?"
_SPEAKER = re.compile(
    r"\b(?:(?:do|does|did)\s+(?P<sayer>(?:the\s+)?[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*)\s+"
    r"(?:say|think|believe|argue|claim|want|fear|feel|suggest|propose|recommend|warn|blame|see|expect|hope"
    r"|mean|describe)\b"
    r"|\b(?:according\s+to|per)\s+(?P<source>(?:the\s+)?[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*))"
)


def speaker(question: str) -> str | None:
    """The name of the one whose words or views the question asks about, by its last word, the
    surname or the head of a title ("Who did Sir Merrick Cockell say…?": Cockell; "What does the
    Education Secretary think…?": Secretary), possessive taken off; None when it asks about none."""
    m = _SPEAKER.search(question)
    if not m:
        return None
    return _POSSESSIVE.sub("", (m.group("sayer") or m.group("source")).split()[-1])


def names_speaker(span: str, sayer: str, context: str) -> bool:
    """Whether `span` names the one whose words the question asks about (`sayer`, from `speaker`): it
    holds the sayer's name, or it is part of a fuller form of it that `context` uses ("Sir Merrick",
    read where "Sir Merrick Cockell" spoke, when the question says only "Cockell"). A one-word form is
    the sayer's name itself, which the first test catches."""
    if holds_name(span, sayer):
        return True
    words = _pieces(span)
    return bool(words) and any(
        words <= _pieces(name) for name in MULTI_WORD_NAME.findall(context) if holds_name(name, sayer)
    )


def missing_names(question: str, documents: Iterable[str]) -> list[str]:
    """The question's names that none of `documents` (their full text) mentions in any of the
    tolerated spellings; empty when the question names nothing or every name is found."""
    names = anchoring_names(question)
    if not names:
        return []
    texts = list(documents)
    words = frozenset().union(*(_words(t) for t in texts))
    missing = [n for n in names if not _pieces(n) <= words]  # a name is held when each of its words is
    if not missing:
        return []
    acronyms = set().union(*(_spellings(t).keys() for t in texts))

    def found(name: str) -> bool:
        plain = _plain(name)
        if name.isupper() and plain in acronyms:
            return True
        if len(plain) < _SHORTEST_FUZZY:
            return False
        # a misspelling keeps the first letter and about the length ("Feyman", "Millenium")
        alike = [w for w in words if w[0] == plain[0] and abs(len(w) - len(plain)) <= 2]
        return bool(difflib.get_close_matches(plain, alike, 1, _CLOSE))

    return [n for n in missing if not found(n)]


def best_named(question: str, documents: Iterable[str], text_of: Callable[[str], str]) -> set[str]:
    """The documents that name the most of the question's names: the ones about what it asks. A
    passage from another document is about something else ("Who spoke for the directors'
    association about the Arthur and Star review?", read in an article on another review, finds that
    review's spokesman, and a SQuAD-trained reader is surer of him than of the right one). A question
    naming two things that two documents name one each keeps both; one naming nothing keeps all, and
    no text is fetched (`text_of` may read a database)."""
    ids = list(dict.fromkeys(documents))
    if not anchoring_names(question):
        return set(ids)
    missing = {doc: len(missing_names(question, [text_of(doc)])) for doc in ids}
    fewest = min(missing.values(), default=0)
    return {doc for doc, n in missing.items() if n == fewest}
