"""Shared normalisation (Clark and Gardner 2018, "Simple and Effective Multi-Paragraph Reading
Comprehension"): a question's windows over several paragraphs are scored together, so that which
paragraph leads is learnt, not left to margins trained one paragraph at a time.

citerag reads each retrieved passage alone and trusts the passage whose best span beats its own
"no answer" ([CLS]) by most. So the shared term is over those margins: every context token's start
(and end) logit less its window's [CLS] logit, across all windows of the question, beside one fixed
slot at 0 for "no answer in any of them". Its target is the gold start (end) wherever a window holds
the answer, else that slot. The usual per-window loss stays beside it, keeping each window's own
"no answer here" meaning.
"""

from __future__ import annotations

from typing import Any


def context_mask(token_type_ids: Any, attention_mask: Any) -> Any:
    """Where a span may start or end: the context's word pieces, not its closing [SEP]."""
    mask = (token_type_ids == 1) & (attention_mask == 1)
    last = attention_mask.sum(dim=1) - 1
    mask[range(len(last)), last] = False
    return mask


def shared_loss(logits: Any, mask: Any, labels: Any, groups: list[list[int]]) -> Any:
    """Mean over groups (lists of window rows of one question) of the negative log-likelihood of the
    gold positions (`labels`, 0 where a window does not hold the answer) among the group's margins
    and the shared "no answer" slot."""
    import torch

    margins = (logits - logits[:, :1]).masked_fill(~mask, float("-inf"))
    losses = []
    for rows in groups:
        flat = torch.cat([margins[rows].flatten(), margins.new_zeros(1)])
        gold = [r * margins.shape[1] + int(labels[w]) for r, w in enumerate(rows) if labels[w] > 0]
        target = flat[gold] if gold else flat[-1:]
        losses.append(torch.logsumexp(flat, 0) - torch.logsumexp(target, 0))
    return torch.stack(losses).mean()
