"""Shared normalisation: the loss against a direct computation, and what it rewards."""

from __future__ import annotations

import math

import pytest
import torch

from rag.answer.training.shared_norm import context_mask, shared_loss

# Two windows of one question: [CLS] q [SEP] c c c [SEP], then a shorter one, padded.
TYPES = torch.tensor([[0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 0]])
ATTENTION = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0]])
MASK = context_mask(TYPES, ATTENTION)


def reference(logits: list[list[float]], gold: list[tuple[int, int]]) -> float:
    """The negative log-likelihood, written out: every context token's logit less its window's
    [CLS] logit, and a "no answer" term of 0."""
    terms = {
        (w, i): logits[w][i] - logits[w][0]
        for w in range(len(logits))
        for i in range(len(logits[w]))
        if MASK[w, i]
    }
    total = math.log(1 + sum(math.exp(v) for v in terms.values()))
    wanted = math.log(sum(math.exp(terms[g]) for g in gold)) if gold else 0.0
    return total - wanted


def test_the_mask_keeps_the_context_and_drops_its_closing_separator() -> None:
    assert MASK.tolist() == [
        [False, False, False, True, True, True, False],
        [False, False, False, True, True, False, False],
    ]


@pytest.mark.parametrize(("labels", "gold"), [([0, 4], [(1, 4)]), ([3, 0], [(0, 3)]), ([0, 0], [])])
def test_the_loss_is_the_written_out_likelihood(labels: list[int], gold: list[tuple[int, int]]) -> None:
    logits = torch.tensor([[0.5, 9, 9, 1.0, -2.0, 0.3, 7], [-1.0, 9, 9, 2.0, 0.1, 5, 5]])
    loss = shared_loss(logits, MASK, torch.tensor(labels), [[0, 1]])
    assert loss.item() == pytest.approx(reference(logits.tolist(), gold), rel=1e-5)


def test_question_and_padding_logits_do_not_count() -> None:
    logits = torch.tensor([[0.5, 9, 9, 1.0, -2.0, 0.3, 7], [-1.0, 9, 9, 2.0, 0.1, 5, 5]])
    changed = logits.clone()
    changed[:, 1:3] = -40.0
    changed[0, 6] = changed[1, 5:] = 30.0
    labels = torch.tensor([0, 4])
    assert shared_loss(changed, MASK, labels, [[0, 1]]).item() == pytest.approx(
        shared_loss(logits, MASK, labels, [[0, 1]]).item()
    )


def test_the_loss_prefers_the_gold_window_leading_and_no_answer_when_none_holds_it() -> None:
    labels = torch.tensor([0, 3])  # the second window holds the answer at its first context token
    leads = torch.tensor([[2.0, 0, 0, -3, -3, -3, 0], [0.0, 0, 0, 4, -3, 0, 0]])
    trails = torch.tensor([[0.0, 0, 0, 4, -3, -3, 0], [2.0, 0, 0, 1, -3, 0, 0]])
    assert shared_loss(leads, MASK, labels, [[0, 1]]) < shared_loss(trails, MASK, labels, [[0, 1]])
    none = torch.tensor([0, 0])
    quiet = torch.tensor([[2.0, 0, 0, -3, -3, -3, 0], [2.0, 0, 0, -1, -3, 0, 0]])  # every margin below 0
    assert shared_loss(quiet, MASK, none, [[0, 1]]) < shared_loss(leads, MASK, none, [[0, 1]])


def test_groups_are_scored_apart_and_averaged() -> None:
    logits = torch.tensor([[0.5, 9, 9, 1.0, -2.0, 0.3, 7], [-1.0, 9, 9, 2.0, 0.1, 5, 5]])
    labels = torch.tensor([3, 0])
    apart = shared_loss(logits, MASK, labels, [[0], [1]]).item()
    alone = [shared_loss(logits, MASK, labels, [[w]]).item() for w in (0, 1)]
    assert apart == pytest.approx(sum(alone) / 2)
