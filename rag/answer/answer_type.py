"""What kind of answer a question asks for, and whether a sentence offers one.

"When…", "What year…" ask for a time; "How many…", "What percentage…" for a quantity. A sentence
that offers no time to a "when" question does not answer it, however close its topic (the classic
answer-type check of factoid QA systems). Only the question's leading wh-phrase decides: "What did
she say when…" asks for a statement, not a time. Person names are left out on purpose: "who"
questions are as often answered by a role or an organisation ("everyone", "the local authority").
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["time", "quantity"]

_LEAD = r"^\W*(?:and\s+|but\s+|so\s+)?(?:in\s+|since\s+|from\s+|until\s+|by\s+)?"
_ASKS: dict[AnswerType, re.Pattern[str]] = {
    "time": re.compile(_LEAD + r"(?:when\b|(?:what|which)\s+(?:year|month|day|date|decade|century)\b)", re.I),
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
_OFFERS: dict[AnswerType, re.Pattern[str]] = {
    "time": re.compile(
        r"\b(?:\d{1,4}(?:[/-]\d{1,4})*(?:s|th|st|nd|rd)?|" + _MONTHS + r"|spring|summer|autumn|winter"
        r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow|ago"
        r"|(?:last|next|this|that|every|each|the\s+same)\s+" + _PERIOD + r")\b",
        re.I,
    ),
    "quantity": re.compile(
        r"[£$€¥%]|\b(?:\d[\d,.]*|" + _NUMBER_WORDS + r"|per\s*cent|percent|daily|weekly|monthly"
        r"|annually|yearly|(?:every|each|a|per)\s+" + _PERIOD + r")\b",
        re.I,
    ),
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
