"""Comparing two samples: mann_whitney_p, min_trials_for_alpha, compare_samples.

Each method and its source: harness/stats/__init__.py."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from harness.stats._common import (
    MWU_EFFICIENCY,
    FloatArray,
    _array,
    _check_level,
)
from harness.stats.estimates import ratio_estimate
from harness.stats.power import SIGN_TEST_EFFICIENCY, Condition, detectable_shift


def _min_mwu_p(n1: int, n2: int) -> float:
    """The smallest two-sided p an exact Mann-Whitney test can give for sample sizes n1, n2.

    It is reached when the samples do not overlap: 2 of the C(n1+n2, n1) equally likely rank
    arrangements under H0 are that extreme (one per tail), so p_min = 2 / C(n1+n2, n1) (Mann & Whitney 1947).
    """
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


MWU_EXACT_MAX_N = 100  # pooled sizes up to this get the exact p (counted in well under a second)


def _rank_sum_counts(scores: FloatArray, n1: int) -> FloatArray:
    """counts[s]: how many of the C(N, n1) subsets of size n1 of the N integer scores sum to s.

    The shift algorithm (Streitberg & Röhmel 1986): add one score at a time, and a subset of size k
    summing to s either leaves it out or extends a subset of size k − 1 summing to s − score. Counts are
    floats: C(100, 50) ≈ 1e29 fits, and p is a ratio of counts, so the rounding is relative (1e-16).
    """
    total = int(scores.sum())
    counts = np.zeros((n1 + 1, total + 1))
    counts[0, 0] = 1.0
    for i, score in enumerate(int(s) for s in scores):
        for k in range(min(i + 1, n1), 0, -1):  # downwards: each score is used at most once per subset
            counts[k, score:] += counts[k - 1, : total + 1 - score]
    return counts[n1]


def mann_whitney_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided p of the Mann-Whitney U test (Mann & Whitney 1947), exact for small samples, ties or not.

    Exact (pooled n1 + n2 <= MWU_EXACT_MAX_N): the permutation distribution of the rank sum of the
    smaller sample, with midranks for ties (the conditional test given the ties; Lehmann 1975, "Nonparametrics", ch. 1),
    counted over all C(n1 + n2, n1) equally likely splits of the pooled values by the shift algorithm
    (Streitberg & Röhmel 1986, see _rank_sum_counts; midranks are doubled to integers). The two-sided
    p is min(1, 2 · min(P(W <= w), P(W >= w))), the convention of scipy.stats.permutation_test and of
    scipy.stats.mannwhitneyu(method="exact"). It equals mannwhitneyu(method="exact") without ties and
    mannwhitneyu(method=PermutationMethod(n_resamples=np.inf)) with ties (tests/test_stats.py checks
    both), but counts instead of enumerating: 10 vs 10 takes milliseconds, not seconds. scipy's default
    method falls back to the normal approximation as soon as there is a tie, whose p can fall below
    the exact test's smallest possible p, 2 / C(n1 + n2, n1) ([8]*4 vs [16]*4: 0.013 < 2/70 = 0.0286).
    Larger samples: scipy's normal approximation with tie and continuity corrections.
    """
    xx, xy = _array(x, "x"), _array(y, "y")
    if len(xx) == 0 or len(xy) == 0:
        raise ValueError("mann_whitney_p needs at least one value in each sample")
    if len(xx) + len(xy) > MWU_EXACT_MAX_N:
        return float(stats.mannwhitneyu(xx, xy, alternative="two-sided", method="asymptotic").pvalue)
    small, n1 = (0, len(xx)) if len(xx) <= len(xy) else (1, len(xy))
    doubled = np.rint(2 * stats.rankdata(np.concatenate([xx, xy]))).astype(np.int64)  # midranks × 2
    observed = int(doubled[:n1].sum()) if small == 0 else int(doubled[len(xx):].sum())
    counts = _rank_sum_counts(doubled, n1)
    splits = float(counts.sum())
    lower, upper = float(counts[: observed + 1].sum()) / splits, float(counts[observed:].sum()) / splits
    return min(1.0, 2.0 * min(lower, upper))


def min_trials_for_alpha(alpha: float = 0.05) -> int:
    """The smallest n per side for which an exact two-sided Mann-Whitney test can give p < alpha.

    p_min(n, n) = 2 / C(2n, n): 1 for n=1, 0.333 for n=2, 0.1 for n=3, 0.0286 for n=4, 0.0079 for n=5;
    so 4 for alpha = 0.05 and 5 for alpha = 0.01.
    """
    _check_level(alpha, "alpha")
    n = 1
    while _min_mwu_p(n, n) >= alpha:
        n += 1
    return n


@dataclass(frozen=True)
class Comparison:
    """A new sample of one metric against a base sample (see compare_samples)."""

    change_pct: float  # (median_new − median_base) / median_base × 100
    ci_low_pct: float | None  # percentile bootstrap CI of change_pct at 1 − alpha; None if either n < 3
    ci_high_pct: float | None
    p_value: float | None  # two-sided Mann-Whitney U; None if either sample has < 2 values
    verdict: str  # "regression" | "improvement" | "no change" | "too few trials"
    min_detectable_pct: float | None  # the change the rule calls about 4 times in 5 (see _min_detectable_pct);
    #                                   None with too few trials
    note: str | None = None  # why a figure is missing, e.g. no CI because some base trials are 0


def _min_detectable_pct(base: FloatArray, new: FloatArray, base_median: float, alpha: float,
                        threshold_pct: float) -> float:
    """The smallest change, in percent of the base median, at which the product of the probabilities of
    compare_samples' two conditions is 80% (harness.stats.power.detectable_shift, shared with `bench ab`):
      - the two-sided Mann-Whitney test at alpha: se = s · sqrt(1/n1 + 1/n2) / sqrt(3/π), the t test's
        standard error widened by Mann-Whitney's efficiency against it (Hodges & Lehmann 1956);
      - the change of the median beyond threshold_pct: se = s · sqrt(1/n1 + 1/n2) / sqrt(2/π), the
        median's efficiency against the mean; at exactly the threshold the median clears it half the time.
    s is the pooled robust relative spread, each sample's MAD × 1.4826 (Rousseeuw & Croux 1993,
    scipy.stats.median_abs_deviation(scale="normal")) over |median_base|, pooled like variances on
    n1 + n2 − 2 degrees of freedom, and the quantiles are Student's (noncentral) t on those.
    """
    n1, n2 = len(base), len(new)
    s1 = float(stats.median_abs_deviation(base, scale="normal")) / abs(base_median)
    s2 = float(stats.median_abs_deviation(new, scale="normal")) / abs(base_median)
    pooled = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    se = pooled * math.sqrt(1 / n1 + 1 / n2)
    conditions = [Condition(se=se / math.sqrt(MWU_EFFICIENCY), level=alpha / 2),
                  Condition(se=se / math.sqrt(SIGN_TEST_EFFICIENCY), level=None, margin=threshold_pct / 100)]
    return 100.0 * detectable_shift(conditions, df=n1 + n2 - 2)


def _change_ci(base: FloatArray, new: FloatArray, alpha: float) -> tuple[float | None, float | None, str | None]:
    """The bootstrap CI of the change in percent (see ratio_estimate), or (None, None, why not).

    A base with some zero trials (e.g. an error rate) has a defined median, but a bootstrap resample
    of it can have median 0 and the ratio an infinite bound: no CI then, and the note says so.
    """
    zeros = int(np.sum(base == 0.0))
    if zeros and min(len(base), len(new)) >= 3:
        return None, None, (f"no CI of the change: {zeros} of {len(base)} base trials are 0, so a bootstrap "
                            "resample's median could be 0")
    ratio = ratio_estimate(new, base, confidence=1 - alpha)
    low = None if ratio.ci_low is None else (ratio.ci_low - 1.0) * 100.0
    high = None if ratio.ci_high is None else (ratio.ci_high - 1.0) * 100.0
    return low, high, None


def compare_samples(base: Sequence[float], new: Sequence[float], higher_is_better: bool,
                    threshold_pct: float = 5.0, alpha: float = 0.05) -> Comparison:
    """Compare two samples of one metric (e.g. per-trial rps of two runs) with asv's rule: flag a
    regression or an improvement only when a two-sided Mann-Whitney U test (Mann & Whitney 1947,
    mann_whitney_p: exact for small samples, with or without ties) finds a difference, p < alpha,
    AND the change of the median exceeds threshold_pct in the bad or good direction.

    "too few trials" when either sample has fewer than 3 values, or when the exact test cannot reach
    p < alpha at these sample sizes at all (its smallest p is 2 / C(n1+n2, n1)): with 3 vs 3 the
    smallest two-sided p is 0.1, so at alpha = 0.05 three trials a side can never flag anything and
    calling that "no change" would mislead. min_trials_for_alpha(0.05) == 4 per side (smallest p
    0.0286); unbalanced sizes can also do (3 vs 5: 0.0357), while 3 vs 4 (0.0571) cannot.

    The CI of the change is a percentile bootstrap of median(new)/median(base) − 1 at confidence
    1 − alpha, resampling both samples independently (see ratio_estimate); None if either n < 3, or
    if some base trials are 0 (a resample's median could be 0; `note` says so, see _change_ci).
    min_detectable_pct: the change at which the product of the two conditions' probabilities (the test,
    the median beyond the threshold) is 80%, from the samples' robust spread (_min_detectable_pct):
    always above threshold_pct; simulated, the rule calls it 77-85% of the time (tests/test_detectable.py).

    Raises ValueError for an empty sample or a zero base median.
    """
    _check_level(alpha, "alpha")
    if not (math.isfinite(threshold_pct) and threshold_pct >= 0):
        raise ValueError(f"threshold_pct must be non-negative, got {threshold_pct}")
    xb, xn = _array(base, "base"), _array(new, "new")
    n1, n2 = len(xb), len(xn)
    if n1 == 0 or n2 == 0:
        raise ValueError("compare_samples needs at least one value in each sample")
    base_median = float(np.median(xb))
    if base_median == 0.0:
        raise ValueError("compare_samples: the base median is 0, a relative change is undefined")
    change_pct = (float(np.median(xn)) - base_median) / base_median * 100.0
    ci_low_pct, ci_high_pct, note = _change_ci(xb, xn, alpha)
    p_value = mann_whitney_p(xb, xn) if n1 >= 2 and n2 >= 2 else None
    if min(n1, n2) < 3 or _min_mwu_p(n1, n2) >= alpha:
        return Comparison(change_pct=change_pct, ci_low_pct=ci_low_pct, ci_high_pct=ci_high_pct,
                          p_value=p_value, verdict="too few trials", min_detectable_pct=None, note=note)
    verdict = "no change"
    if p_value is not None and p_value < alpha and abs(change_pct) > threshold_pct:
        better = change_pct > 0 if higher_is_better else change_pct < 0
        verdict = "improvement" if better else "regression"
    min_detectable = _min_detectable_pct(xb, xn, base_median, alpha, threshold_pct)
    return Comparison(change_pct=change_pct, ci_low_pct=ci_low_pct, ci_high_pct=ci_high_pct,
                      p_value=p_value, verdict=verdict, min_detectable_pct=min_detectable, note=note)
