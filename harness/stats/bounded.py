"""Medians and ratios of values known only within bounds, and what independent intervals risk together:
bounded_median_ci, round_ratio_bounds, joint_coverage, joint_tail.

A trial's value may be known only within [low, high]: a sweep that never reached the limit leaves a lower
bound (high = ∞), one whose lowest step already failed an upper bound (low = 0), and a figure that can only
take a sweep's step values lies in [step, next step). The order-statistic interval of the median stays
exact for such values because order statistics are monotone in every value (see bounded_median_ci).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.stats.estimates import median_order_ci


@dataclass(frozen=True)
class BoundedMedian:
    """The median of values each known only within [low_i, high_i], with the order-statistic CI of that median."""

    value: float  # the median of the values as stored
    median_low: float  # the least the sample median of the true values can be (median of the lows)
    median_high: float  # the most (median of the highs)
    low: float | None  # CI of the median; None with fewer than 3 values
    high: float | None
    coverage: float | None  # the CI covers the median at least this often
    tail: float | None  # and lies wholly above it (or wholly below it) at most this often


def bounded_median_ci(values: Sequence[float], lows: Sequence[float], highs: Sequence[float],
                      confidence: float = 0.95) -> BoundedMedian:
    """The exact order-statistic CI of the median (median_order_ci: Conover 1999, §3.2) of values x_i known
    only to lie in [lows_i, highs_i]: [low_(k), high_(n+1−k)] of the sorted lows and highs.

    The k-th smallest of n numbers never decreases when any one of them grows, so low_(k) ≤ x_(k) and
    x_(n+1−k) ≤ high_(n+1−k): the interval holds the order-statistic interval of the unknown x, which covers
    the median with the coverage Bin(n, ½) gives (each tail P(Bin(n, ½) ≤ k − 1)); this one covers it at
    least as often, and lies wholly on one side of it at most as often. The same monotonicity puts the
    sample median of the x between the medians of the lows and of the highs (what a censored trial leaves
    open). Values and bounds may be infinite (a ratio over a zero step); the CI is None with fewer than 3
    values. Raises ValueError for unequal lengths, no values, NaN, or a value outside its bounds.
    """
    x, lo, hi = (np.asarray(v, dtype=float) for v in (values, lows, highs))
    if not len(x) == len(lo) == len(hi) or len(x) == 0:
        raise ValueError(f"bounded_median_ci needs as many lows and highs as values, at least one: "
                         f"{len(x)}, {len(lo)}, {len(hi)}")
    if np.isnan(x).any() or np.isnan(lo).any() or np.isnan(hi).any():
        raise ValueError("bounded_median_ci needs values and bounds that are not NaN")
    if (lo > x).any() or (x > hi).any():
        raise ValueError("bounded_median_ci needs each value within its bounds")
    value, median_low, median_high = (float(np.median(v)) for v in (x, lo, hi))
    if len(x) < 3:
        return BoundedMedian(value, median_low, median_high, None, None, None, None)
    ranks = median_order_ci(np.arange(len(x), dtype=float), confidence)  # its ranks and coverage depend on n only
    low, high = float(np.sort(lo)[ranks.rank_low - 1]), float(np.sort(hi)[ranks.rank_high - 1])
    return BoundedMedian(value, median_low, median_high, low, high, ranks.coverage, (1 - ranks.coverage) / 2)


def round_ratio_bounds(a: Sequence[float], a_lows: Sequence[float], a_highs: Sequence[float],
                       b: Sequence[float], b_lows: Sequence[float], b_highs: Sequence[float]
                       ) -> tuple[list[float], list[float], list[float]]:
    """Per round i, the ratio a_i / b_i of two non-negative figures and where it lies when each side is known
    only within its bounds: a ratio grows with a and falls with b, so it lies in [a_low / b_high,
    a_high / b_low]. x / 0 is ∞ for x > 0 and x / ∞ is 0. Raises ValueError for unequal lengths, a negative
    figure or bound, or a round whose ratio is 0 / 0."""
    columns = [np.asarray(v, dtype=float) for v in (a, a_lows, a_highs, b, b_lows, b_highs)]
    if len({len(c) for c in columns}) != 1:
        raise ValueError("round_ratio_bounds needs one value and two bounds of each side per round")
    if any((c < 0).any() for c in columns):
        raise ValueError("round_ratio_bounds needs non-negative figures and bounds")
    a_, a_lo, a_hi, b_, b_lo, b_hi = columns
    return _ratios(a_, b_), _ratios(a_lo, b_hi), _ratios(a_hi, b_lo)


def _ratios(x: np.ndarray, y: np.ndarray) -> list[float]:
    return [_ratio(float(p), float(q)) for p, q in zip(x, y, strict=True)]


def _ratio(x: float, y: float) -> float:
    if (x == 0 and y == 0) or (math.isinf(x) and math.isinf(y)):
        raise ValueError(f"a round's ratio {x} / {y} is undefined")
    return math.inf if y == 0 else float(x / y)


def joint_coverage(*coverages: float) -> float:
    """How often independent intervals all cover their values at least: the product of their coverages (the
    multiplication rule for independent events; e.g. a ratio's interval [a_low / b_high, a_high / b_low] from
    the intervals of two targets' independent trials holds the ratio whenever both hold theirs)."""
    return float(np.prod(coverages)) if coverages else 1.0


def joint_tail(*tails: float) -> float:
    """How often at least one of independent intervals misses on its given side at most: 1 − Π(1 − tail_i).

    Two independent intervals lying apart is the non-overlap test of a difference (Schenker & Gentleman
    2001, "On judging the significance of differences by examining the overlap between confidence
    intervals", The American Statistician 55(3)): when the two true values are equal, each interval lies
    wholly on the side away from the other only if one of them misses that value on that side, so the test's
    level in one direction is at most joint_tail of their one-sided tails, whatever the distributions (and
    that bound is reached by some). Two 95% intervals give 4.9% per side, two 75% ones 23.4%, not the 5%
    (both sides) the 95% rule is quoted for.
    """
    return 1.0 - float(np.prod([1.0 - t for t in tails])) if tails else 0.0
