"""eval/two_part_questions.py: two answerable questions on one paragraph (then one article) as one."""

from __future__ import annotations

from eval.two_part_questions import join


def row(qid: str, question: str, answer: str) -> dict[str, object]:
    return {"id": qid, "question": question, "answers": [answer], "sources": ["a.txt"], "answerable": True}


ROWS = [
    row("Bridge/0/0", "Who designed the Harbour Bridge?", "John Bradfield"),
    row("Bridge/1/0", "How long is the arch?", "503 metres"),
    row("Bridge/0/1", "When did the Harbour Bridge open?", "1932"),
    row("Bridge/0/2", "The bridge cost what?", "£6.25m"),  # opens with no question word
    {"id": "Bridge/0/3", "question": "Who painted it?", "answerable": False},
]


def test_questions_on_one_paragraph_are_joined_first_then_on_one_article() -> None:
    joined = join(ROWS, pronoun=False)
    assert [q["question"] for q in joined] == [
        "Who designed the Harbour Bridge, and when did the Harbour Bridge open?",
        "The bridge cost what, and how long is the arch?",
    ]
    assert joined[0]["answers"] == ["John Bradfield", "1932"] and joined[0]["answerable"] is True


def test_with_pronoun_a_repeated_name_becomes_it() -> None:
    joined = join(ROWS, pronoun=True)
    assert [q["question"] for q in joined] == ["Who designed the Harbour Bridge, and when did it open?"]
