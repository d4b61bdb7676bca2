"""Follow-up questions: carry the earlier turns' key terms into the retrieval query.

"What did she say about inspections?" after "What did Meg Munn say about social workers?" is
retrieved as if it named Meg Munn. A question that stands on its own is left as it is.
The history is an argument (a list of {"role", "content"} messages), never global state.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rag.answer.names import MULTI_WORD_NAME
from rag.store import QUESTION_WORDS

# Personal pronouns point back to an earlier turn; "their", "it", "that" or "there" usually point
# inside the question itself ("children who live outside their area"), so they do not count.
_ANAPHORA = re.compile(r"\b(he|she|him|his|her|hers|they|them|the same)\b", re.IGNORECASE)
_CONTINUATION = re.compile(r"^\s*(and|but|also|so|what about|how about|what else|why|when|where)\b", re.I)
_WORD = re.compile(r"[\w’'-]+")
_FEW_WORDS = 4


def is_follow_up(question: str) -> bool:
    words = _WORD.findall(question)
    return bool(_ANAPHORA.search(question) or _CONTINUATION.match(question) or len(words) <= _FEW_WORDS)


def _messages(history: Sequence[Any]) -> list[tuple[str, str]]:
    """(role, text) pairs from dict messages or (question, answer) pairs; anything else is ignored."""
    out: list[tuple[str, str]] = []
    for item in history:
        if isinstance(item, dict) and isinstance(item.get("content"), str):
            out.append((str(item.get("role", "user")), item["content"]))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            out += [("user", str(item[0])), ("assistant", str(item[1] or ""))]
    return out


def _last(messages: list[tuple[str, str]], role: str) -> str:
    return next((text for r, text in reversed(messages) if r == role), "")


def earlier_question(history: Sequence[Any] | None) -> str:
    """The last question asked before, which a follow-up may refer to."""
    return _last(_messages(history or []), "user")


def resolve(question: str, history: Sequence[Any] | None) -> str:
    """The retrieval query for `question` given the conversation so far.

    A question with a topic of its own ("What did she say about inspections?") only lacks its
    referent, so the names of the last turn are carried; a bare continuation ("and in 2013?")
    lacks the topic too, so the last question's words are carried as well.
    """
    if not history or not is_follow_up(question):
        return question
    messages = _messages(history)
    last_user = _last(messages, "user")
    last_answer = _last(messages, "assistant")
    names = MULTI_WORD_NAME.findall(last_user) + MULTI_WORD_NAME.findall(re.sub(r"\[\d+\]", "", last_answer))
    own_topic = [w for w in _WORD.findall(question) if w.lower() not in QUESTION_WORDS]
    continuation = bool(_CONTINUATION.match(question))
    carry = " ".join(names) if own_topic and names and not continuation else " ".join([last_user, *names])
    asked = {w.lower() for w in _WORD.findall(question)}
    carried: list[str] = []
    for word in _WORD.findall(carry):
        if word.lower() not in asked and word not in carried:
            carried.append(word)
    return " ".join([question, *carried[:12]])


def cited_before(question: str, history: Sequence[Any] | None) -> set[str]:
    """Documents the last answer cited, when the question points back at someone in it ("What did
    she say about…?"): that person's words are in those documents, not in whoever else discusses
    the topic. Needs assistant messages that carry their "citations" (as `rag ask --json` gives)."""
    if not history or not _ANAPHORA.search(question):
        return set()
    for item in reversed(history):
        if isinstance(item, dict) and item.get("role") == "assistant":
            citations = item.get("citations") or []
            return {str(c["doc"]) for c in citations if isinstance(c, dict) and "doc" in c}
    return set()
