"""Development figures with the shipped reader on a tiny held-out article."""

from __future__ import annotations

from rag.answer.reader import DEFAULT_READER, Reader
from rag.answer.training.dev_figures import auc, figures
from rag.answer.training.squad import Article

OWN = "The Harbour Bridge opened in 1932 over Port Jackson and was designed by John Bradfield."
OTHER = "The Opera House stands at Bennelong Point and hosts 1,500 performances a year."


def test_auc_counts_pairs_won_and_ties_as_half() -> None:
    assert auc([3.0, 1.0], [2.0]) == 0.5 and auc([2.0], [2.0]) == 0.5 and auc([3.0], [1.0, 2.0]) == 1.0


def test_each_answerable_question_is_also_asked_about_another_name_of_its_paragraph() -> None:
    question = (0, "q1", "Who designed the Harbour Bridge?", OWN.index("John"), ("John Bradfield",))
    article = Article("Sydney", (OWN, OTHER), (question,))
    reader = Reader(DEFAULT_READER)
    out = figures(reader, [article], limit=10)
    # one positive, its negative over the other paragraph, and "Who designed the Port Jackson?"
    assert (out["positives"], out["negatives"], out["wrong_names"]) == (1, 1, 1)
    assert out["f1"] == 1.0 and out["no_answer_auc"] == 1.0
    asked, wrong = (
        reader.read(q, [OWN])[0].margin
        for q in ("Who designed the Harbour Bridge?", "Who designed the Port Jackson?")
    )
    assert out["wrong_name_auc"] == auc([asked], [wrong])
