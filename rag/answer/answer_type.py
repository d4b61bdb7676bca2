"""What kind of answer a question asks for, and whether a sentence offers one.

"When did…", "What year…" ask for a time; "How many…", "What percentage…" for a quantity. A
sentence, or the reader's short answer, that offers no time to a "when" question does not answer it,
however close its topic (the classic answer-type check of factoid QA systems). Only the question's
leading wh-phrase decides: "What did she say when…" asks for a statement, not a time, and neither does
a leading "when" clause ("When trees have a visible difference…, what is it called?"): a "when" that
asks is followed by its auxiliary verb. Person names are left out on purpose: "who" questions are as
often answered by a role or an organisation ("everyone", "the local authority").
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["time", "quantity"]

_LEAD = r"^\W*(?:and\s+|but\s+|so\s+)?(?:in\s+|since\s+|from\s+|until\s+|by\s+)?"
# an auxiliary verb, as a question puts one after its question word ("when did…", "which borough does…")
AUXILIARY = r"(?:did|does|do|was|were|is|are|will|would|can|could|has|have|had|should|shall|may|might|must)\b"
_ASKS: dict[AnswerType, re.Pattern[str]] = {
    "time": re.compile(
        _LEAD
        + r"(?:when(?:['’]s\b|\s+"
        + AUXILIARY
        + r")|(?:what|which)\s+(?:year|month|day|date|decade|century)\b)",
        re.I,
    ),
    "quantity": re.compile(
        _LEAD + r"(?:how\s+(?:many|much|often|old|long|far|large|big)\b"
        r"|(?:what|which)\s+(?:percentage|proportion|share|number|amount|fraction|figure)\b)",
        re.I,
    ),
}
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec"
)
_PERIOD = r"(?:day|week|fortnight|month|quarter|year|decade|century)s?"
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen"
    "|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?"
    "|thousands?|millions?|billions?|dozens?|half|third|quarter|fifth|tenth|twice|once|double|treble|triple"
)
_CURRENCY_SIGNS = "£$€¥"
_OFFERS: dict[AnswerType, re.Pattern[str]] = {
    "time": re.compile(
        r"\b(?:\d{1,4}(?:[/-]\d{1,4})*(?:s|th|st|nd|rd)?|" + _MONTHS + r"|spring|summer|autumn|winter"
        r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow|ago"
        r"|(?:last|next|this|that|every|each|the\s+same)\s+" + _PERIOD + r")\b",
        re.I,
    ),
    "quantity": re.compile(
        "["
        + _CURRENCY_SIGNS
        + r"%]|\b(?:\d[\d,.]*|"
        + _NUMBER_WORDS
        + r"|per\s*cent|percent|daily|weekly|monthly"
        r"|annually|yearly|(?:every|each|a|per)\s+" + _PERIOD + r")\b",
        re.I,
    ),
}


# In a short answer (not a sentence), an era or a time anchored on an event is a time too ("mid-nineteenth
# century", "during the Cultural Revolution", "until the Soviet Union's dissolution"), and it answers
# "how long" and "how old" as well as a quantity does.
_SPAN_TIME = re.compile(
    r"\b(?:\w+(?:teenth|tieth)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth"
    r"|centur(?:y|ies)|millenni(?:um|a)|era|epoch|age|period|dynasty|reign"
    r"|during|after|before|since|until|till|while|when|then|now|early|late|mid|recently|formerly|previously)\b",
    re.I,
)
_DURATION = re.compile(_LEAD + r"how\s+(?:long|old)\b", re.I)
# "How often…" is answered by a rate or a span of time ("every 10 days", "twice a year", "10 days",
# "rarely"), not by any count: "64,000" (children in care) does not say how often a child is killed.
_FREQUENCY_ASKED = re.compile(_LEAD + r"how\s+often\b", re.I)
_FREQUENCY = re.compile(
    r"%|\b(?:" + _PERIOD + r"|(?:second|minute|hour|night|weekend|time|occasion)s?|once|twice|thrice"
    r"|(?:bi|semi|tri)?annual(?:ly)?|biennial(?:ly)?|(?:hour|dai|night|week|fortnight|month|quarter|year)ly"
    r"|per\s*cent|percent|(?:each|every|per)\s+\w+|always|never|often|usually|rarely|seldom|sometimes"
    r"|occasionally|regularly|frequently|constantly|continually)\b",
    re.I,
)
# "How many days…?" counts something other than money: a sum ("£79.9m") answers only "how much" or
# "how many pounds" (of SQuAD's 4,260 training "how many" questions, 2 have money for an answer, both
# naming the currency).
_CURRENCIES = r"pounds|dollars|euros|yen|pence|cents|francs|rupees|yuan"
_COUNT_ASKED = re.compile(_LEAD + r"how\s+many\b(?!\s+(?:\w+\s+)?(?:" + _CURRENCIES + r")\b)", re.I)
_MONEY = re.compile("[" + _CURRENCY_SIGNS + r"]|\b(?:" + _CURRENCIES + r"|pound|dollar|euro|cent)\b", re.I)
# "What year…" and "In which month…" are answered by a year or a month, not "later this year".
_UNIT_ASKED = re.compile(_LEAD + r"(?:what|which)\s+(year|month)\b", re.I)
_UNIT_OFFERED = {
    "year": re.compile(r"\b\d{2,4}s?\b"),
    "month": re.compile(r"\b(?:" + _MONTHS + r")\b|\b\d{1,2}[/-]\d{1,2}\b", re.I),
}


def expected_type(question: str) -> AnswerType | None:
    """The answer type the question's leading wh-phrase asks for, if it is a time or a quantity."""
    for kind, pattern in _ASKS.items():
        if pattern.search(question):
            return kind
    return None


def offers(kind: AnswerType, text: str, question: str = "") -> bool:
    """Whether `text` contains an expression of the given type that the question does not already
    name ("How many reviews in 2012?" is not answered by a sentence whose only number is 2012)."""
    named = {m.casefold() for m in _OFFERS[kind].findall(question)}
    return any(m.casefold() not in named for m in _OFFERS[kind].findall(text))


def span_offers(kind: AnswerType, span: str, question: str) -> bool:
    """Whether the reader's short answer `span` is of the kind the question asks for: it `offers` one,
    or it is an era or an event-anchored time, which answers a time question and a "how long"; a
    question asking for a year or a month needs one named, one asking how often a rate, and one asking
    how many (not pounds or dollars) no sum of money."""
    if _FREQUENCY_ASKED.search(question):
        return bool(_FREQUENCY.search(span))
    if _COUNT_ASKED.search(question) and _MONEY.search(span):
        return False
    unit = _UNIT_ASKED.search(question)
    if unit:
        return bool(_UNIT_OFFERED[unit.group(1).lower()].search(span)) and offers(kind, span, question)
    if offers(kind, span, question):
        return True
    if kind == "time" or _DURATION.search(question):
        return offers("time", span, question) or bool(_SPAN_TIME.search(span))
    return False
