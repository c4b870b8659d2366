"""Point estimates with bootstrap or order-statistic confidence intervals: estimate, ratio_estimate, median_order_ci.

Each method and its source: harness/stats/__init__.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from harness.stats._common import (
    NOISY_CV,
    FloatArray,
    _array,
    _check_level,
    _percentile_ci,
)


@dataclass(frozen=True)
class Estimate:
    """The median of one metric across trials, with its order-statistic CI, that CI's coverage and the CV."""

    n: int
    median: float
    ci_low: float | None  # order-statistic CI of the median (median_order_ci); None if n < 3
    ci_high: float | None
    cv: float | None  # sample stdev (ddof=1) / |mean|; None if n < 2 or mean == 0
    ci_coverage: float | None = None  # the CI's real coverage, e.g. 0.75 for 3 trials; None without a CI

    @property
    def noisy(self) -> bool:
        return self.cv is not None and self.cv > NOISY_CV


def estimate(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Median, the exact order-statistic CI of the median (median_order_ci: Conover 1999, §3.2) with its
    real coverage, and the coefficient of variation.

    The CI is the narrowest order-statistic interval reaching `confidence`, else [min, max], whose
    coverage is then below it (75% for 3 values, 93.75% for 5): ci_coverage says which. A percentile
    bootstrap of the median of 3 values is [min, max] too, labelled 95% while it covers 75%. The CI is
    None with fewer than 3 values. The CV divides by |mean| so that it stays a non-negative spread for
    negative-valued metrics. Raises ValueError for no values or non-finite values.
    """
    _check_level(confidence, "confidence")
    x = _array(values, "values")
    n = len(x)
    if n == 0:
        raise ValueError("estimate needs at least one value")
    median = float(np.median(x))
    ci_low: float | None = None
    ci_high: float | None = None
    coverage: float | None = None
    if n >= 3:
        interval = median_order_ci(x, confidence)
        ci_low, ci_high, coverage = interval.low, interval.high, interval.coverage
    cv: float | None = None
    mean = float(np.mean(x))
    if n >= 2 and mean != 0.0:
        cv = float(np.std(x, ddof=1)) / abs(mean)
    return Estimate(n=n, median=median, ci_low=ci_low, ci_high=ci_high, cv=cv, ci_coverage=coverage)


@dataclass(frozen=True)
class Ratio:
    """A ratio a/b with its CI (None with fewer than 3 values or rounds): the ratio of medians with a
    percentile-bootstrap CI (ratio_estimate), or the median of per-round ratios (paired_ratio_estimate)."""

    value: float
    ci_low: float | None
    ci_high: float | None
    ci_coverage: float | None = None  # the CI's real coverage when known (paired); None for the bootstrap
    rounds: int = 0  # the number of paired rounds; 0 for the two-sample ratio of medians


def _ratio_of_medians(a: FloatArray, b: FloatArray, axis: int = -1) -> FloatArray:
    return np.median(a, axis=axis) / np.median(b, axis=axis)


def ratio_estimate(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Ratio:
    """median(a) / median(b) with a percentile-bootstrap CI, resampling a and b independently
    (two-sample bootstrap, Efron & Tibshirani 1993, §8.3). E.g. Express rps / FastAPI rps within one run.

    Raises ValueError if either sample is empty or median(b) == 0.
    """
    _check_level(confidence, "confidence")
    xa, xb = _array(a, "a"), _array(b, "b")
    if len(xa) == 0 or len(xb) == 0:
        raise ValueError("ratio_estimate needs at least one value on each side")
    median_b = float(np.median(xb))
    if median_b == 0.0:
        raise ValueError("ratio_estimate: median of b is 0, the ratio is undefined")
    value = float(np.median(xa)) / median_b
    if len(xa) < 3 or len(xb) < 3:
        return Ratio(value=value, ci_low=None, ci_high=None)
    if np.any(xb == 0.0) and not np.all(xb == xb[0]):
        # a resample of b could have median 0; refuse rather than return an infinite bound
        raise ValueError("ratio_estimate: b contains zeros, a bootstrap resample's median could be 0")
    if np.all(xa == xa[0]) and np.all(xb == xb[0]):
        return Ratio(value=value, ci_low=value, ci_high=value)
    low, high = _percentile_ci((xa, xb), _ratio_of_medians, confidence)
    return Ratio(value=value, ci_low=low, ci_high=high)


@dataclass(frozen=True)
class OrderInterval:
    """An exact distribution-free CI of the median: [x(k), x(n+1−k)] of the n sorted values."""

    n: int
    low: float  # x(k)
    high: float  # x(n+1−k)
    rank_low: int  # k, 1-based
    rank_high: int  # n + 1 − k
    coverage: float  # the real confidence 1 − 2·P(Bin(n, ½) <= k − 1), which may fall short of `confidence`
    confidence: float  # the confidence asked for

    @property
    def reaches_confidence(self) -> bool:
        return self.coverage >= self.confidence


def median_order_ci(values: Sequence[float], confidence: float = 0.95) -> OrderInterval:
    """The narrowest symmetric order-statistic interval of the median whose coverage is >= confidence,
    else the widest one, [min, max]; always with its real coverage.

    Each value lies below the population median with probability ½, so the number B below it is
    Bin(n, ½) and [x(k), x(n+1−k)] misses the median with probability 2·P(B <= k − 1) (Conover 1999,
    "Practical Nonparametric Statistics", 3rd ed., §3.2; Hahn & Meeker 1991, "Statistical Intervals",
    ch. 5). Exact for any continuous distribution, at least that for a discrete one (a closed interval);
    no resampling. [min, max] covers 75% with n = 3, 93.75% with n = 5, 96.9% with n = 6: below 6
    values no interval of the median reaches 95%, which the percentile bootstrap does not say.
    Raises ValueError for no values, non-finite values or a confidence outside (0, 1).
    """
    _check_level(confidence, "confidence")
    x = np.sort(_array(values, "values"))
    n = len(x)
    if n == 0:
        raise ValueError("median_order_ci needs at least one value")

    # coverage of rank k = 1, 2, … up to the middle, in exact fractions: 1 − 2 · Σ_{i<k} C(n, i) / 2^n
    coverages, term, below = [], 1, 0
    for i in range((n + 1) // 2):
        below += term
        coverages.append(1 - Fraction(2 * below, 2**n))
        term = term * (n - i) // (i + 1)  # C(n, i + 1)
    reaching = [k for k, c in enumerate(coverages, start=1) if c >= Fraction(confidence)]
    k = reaching[-1] if reaching else 1  # coverage falls as k grows: the last that reaches it is the narrowest
    return OrderInterval(n=n, low=float(x[k - 1]), high=float(x[n - k]), rank_low=k, rank_high=n + 1 - k,
                         coverage=float(coverages[k - 1]), confidence=confidence)


def paired_ratio_estimate(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Ratio:
    """The median of the per-round ratios a_i / b_i, with the order-statistic CI of that median
    (median_order_ci) and its real coverage. Round i is trial i of each target, run back to back.

    Pairing the trials of one round cancels what a round shares (a slow minute on a shared machine hits
    both targets), as a paired comparison does (Box, Hunter & Hunter 2005, "Statistics for
    Experimenters", 2nd ed., §3.1); the interval is then exact and distribution-free for the median
    ratio (Conover 1999, §3.2), with no resampling. The CI is None with fewer than 3 rounds.
    Raises ValueError for unequal lengths, no rounds, non-finite values or a zero in b.
    """
    _check_level(confidence, "confidence")
    xa, xb = _array(a, "a"), _array(b, "b")
    if len(xa) != len(xb):
        raise ValueError(f"paired_ratio_estimate needs one value of each side per round: {len(xa)} != {len(xb)}")
    if len(xa) == 0:
        raise ValueError("paired_ratio_estimate needs at least one round")
    if np.any(xb == 0.0):
        raise ValueError("paired_ratio_estimate: b contains zeros, a round's ratio is undefined")
    ratios = xa / xb
    value = float(np.median(ratios))
    if len(ratios) < 3:
        return Ratio(value=value, ci_low=None, ci_high=None, rounds=len(ratios))
    interval = median_order_ci(ratios, confidence)
    return Ratio(value=value, ci_low=interval.low, ci_high=interval.high, ci_coverage=interval.coverage,
                 rounds=len(ratios))


def coverage_label(coverage: float | None) -> str:
    """"94% CI" for a coverage of 0.9375, "75% CI" for 0.75: the real coverage to the nearest whole
    percent, except that it never rounds up onto a conventional level (0.949 is "94% CI", not "95% CI");
    "CI" when the coverage is unknown."""
    if coverage is None:
        return "CI"
    pct = round(coverage * 100)
    if pct > coverage * 100 + 1e-9 and pct % 5 == 0:
        pct -= 1
    return f"{pct}% CI"
