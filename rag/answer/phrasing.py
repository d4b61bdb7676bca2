"""A request worded as a command ("Tell me which…", "List the…") read as the question it asks.

The reader learnt from SQuAD's crowd-written questions, which are never commands, and is less sure
of the same span asked as one: prefixing "Tell me" to the SQuAD calibration half's wh-questions
doubled its false refusals (3.0% to 6.0%). Users write requests as often as questions, so the
request's wording is taken off before the question is read: "Could you tell me who chairs it?"
is read as "Who chairs it?", "List the bodies that…" as "What are the bodies that…?". Every
question SQuAD's writers wrote ends in "?", and one typed without it reads worse (the same half with
its question marks taken off: short F1 0.609 to 0.590), so it gets one. Chat before the question
("Hi, quick question: …") goes too: before the same half's questions it raised false refusals from
3.0% to 7.7%. "So", "and", "also" opening a question mark a follow-up, so they stay for
`rag.answer.conversation`, and only the reader goes without them (`without_joining_words`): before
the same half's questions "So" cut short F1 from 0.610 to 0.598, 0.613 without it.

Everyday words that reports and encyclopedias rarely use ("kids", "mum", "uni") are read as the word
they do use ("children", "mother", "university"): the reader matches the question's words against
the passage, and SQuAD's questions, written in the passages' register, never taught it that "kids"
are the children a passage speaks of.
"""

from __future__ import annotations

import re

_WH = r"(?:what|which|who|whom|whose|when|where|why|how)\b"
# chat before the question: "Hi,", "Thanks!", "OK, one more question:" ("so", "and" and "also" are
# left, since they mark a follow-up)
_GREETING = re.compile(
    r"^\W*(?:(?:hi|hello|hey|ok(?:ay)?|thanks|thank\s+you)\s*[,.!:;-]+\s*)*"
    r"(?:(?:a\s+|one\s+)?(?:quick\s+|last\s+|another\s+|more\s+)*question\s*[:,-]\s*)?",
    re.IGNORECASE,
)
# a polite or indirect opening before a wh-clause: "Tell me", "Can you tell me", "I'd like to know"
_ASKING = re.compile(
    r"^\W*(?:please\s+)?(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?)?"
    r"(?:(?:tell|show|explain(?:\s+to)?)\s+(?:me|us)|explain|describe|find(?:\s+out)?"
    r"|i(?:\s+(?:want|would\s+like|need|wish)|['’]d\s+like)\s+to\s+(?:know|find\s+out|understand)"
    r"|do\s+you\s+know|i\s+wonder|i['’]m\s+wondering)\s*,?\s+(?=" + _WH + ")",
    re.IGNORECASE,
)
# a command to enumerate or name: "List the bodies…", "Name the charity…", "Give me the figures…"
_LISTING = re.compile(
    r"^\W*(?:please\s+)?(?:list|name|identify|give(?:\s+(?:me|us))?)\s+(?=(?:the|all|each|every)\b)",
    re.IGNORECASE,
)


# informal words and the plain word written text uses for them (a hand-made list of common British
# and American colloquialisms, none of them a name)
_PLAIN = {
    "kid": "child",
    "kids": "children",
    "kiddies": "children",
    "mum": "mother",
    "mums": "mothers",
    "mom": "mother",
    "moms": "mothers",
    "dad": "father",
    "dads": "fathers",
    "uni": "university",
    "govt": "government",
    "telly": "television",
    "cop": "police officer",
    "cops": "police",
    "folks": "people",
    "reckon": "think",
    "reckons": "thinks",
    "reckoned": "thought",
}
_INFORMAL = re.compile(r"\b(?:" + "|".join(_PLAIN) + r")\b", re.IGNORECASE)


def in_plain_words(question: str) -> str:
    """`question` with its informal words as written text has them ("kids" as "children"); a
    capitalised one inside the question is part of a name ("Billy the Kid") and stays."""

    opening = len(question) - len(question.lstrip(" \"'“‘("))  # where the question's first word starts

    def plain(m: re.Match[str]) -> str:
        word = m.group()
        if word[0].isupper() and m.start() != opening:
            return word
        out = _PLAIN[word.lower()]
        return out[0].upper() + out[1:] if word[0].isupper() else out

    return _INFORMAL.sub(plain, question)


def as_question(text: str) -> str:
    """`text` as a question: a request ("Tell me which…", "List the…") as the question it asks, in
    plain words (`in_plain_words`), and ending in "?" however it was typed."""
    text = in_plain_words(text)
    greeting = _GREETING.match(text)
    if greeting and greeting.end() < len(text):
        text = text[greeting.end() :]
    asking = _ASKING.match(text)
    listing = None if asking else _LISTING.match(text)
    if asking:
        text = text[asking.end() :]
    elif listing:
        text = "what are " + text[listing.end() :]
    rest = text.rstrip().rstrip(".!?").rstrip()
    if not rest:
        return text
    return (rest[0].upper() + rest[1:] if asking or listing else rest) + "?"


# a word joining the question to the conversation: it marks a follow-up (rag.answer.conversation),
# but is nothing the reader can match in a passage
_JOINING = re.compile(r"^\W*(?:(?:so|and|also|but|then|well|now|ok(?:ay)?)\s*[,.]?\s+)+(?=\w)", re.IGNORECASE)


def without_joining_words(question: str) -> str:
    """The question as the reader reads it: "So who chaired it?" as "Who chaired it?", once the
    follow-up it marks has been resolved. The first word is capitalised as a question opens: the
    e5 reader's word pieces are cased, and SQuAD's questions begin with a capital."""
    rest = _JOINING.sub("", question)
    return rest[:1].upper() + rest[1:] if rest != question else question
