"""How far a figure could move by chance: a mean's 95% bootstrap interval over the questions, and the
exact McNemar test on two runs' flips. Both come from scipy.stats (`bootstrap`, `binomtest`), not
written here.

On fifty questions one question moves a figure by two points, and the interval of a key-facts rate
near one half spans about ±0.14: an evaluator deciding whether to trust the system, or a developer
judging a change, needs that beside the figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RESAMPLES = 2000
CONFIDENCE = 0.95


def mean_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """The 95% percentile-bootstrap interval of the mean of `values` (seeded, so the same run always
    prints the same); the one value when all are equal; None for fewer than two."""
    from scipy.stats import bootstrap

    data = np.asarray(values, dtype=float)
    if len(data) < 2:
        return None
    if np.all(data == data[0]):  # no spread: every resample has this mean (bootstrap would warn)
        return float(data[0]), float(data[0])
    ci = bootstrap(
        (data,),
        np.mean,
        n_resamples=RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(0),
    ).confidence_interval
    return float(ci.low), float(ci.high)


def mcnemar(right_to_wrong: int, wrong_to_right: int) -> float:
    """Exact (binomial) McNemar p-value, two-sided: how likely flips this uneven are by chance alone."""
    from scipy.stats import binomtest

    return float(binomtest(right_to_wrong, right_to_wrong + wrong_to_right, 0.5).pvalue)
