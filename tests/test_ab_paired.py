"""The paired analysis of `bench ab` (harness/compare/paired.py) on constructed data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import optimize, stats

from harness.compare.paired import min_detectable_pct, min_rounds_for_alpha, paired_change, signed_rank_p

LABEL = ("express", "throughput", "users=32", "rps", "req/s")


def brute_force_p(d: list[float], alternative: str) -> float:
    """Every sign pattern of the midranks, counted: the definition the fast count must match."""
    d = [x for x in d if x != 0]
    ranks = stats.rankdata(np.abs(d))
    observed = sum(r for r, x in zip(ranks, d, strict=True) if x > 0)
    patterns = itertools.product([0, 1], repeat=len(d))
    sums = [sum(r for r, s in zip(ranks, signs, strict=True) if s) for signs in patterns]
    hits = [s >= observed - 1e-9 if alternative == "greater" else s <= observed + 1e-9 for s in sums]
    return sum(hits) / len(sums)


@pytest.mark.parametrize("d", [[0.1, 0.2, 0.3, 0.4, 0.5], [0.1, -0.2, 0.3, 0.4, -0.05, 0.6],
                               [0.1, 0.1, -0.1, 0.2, 0.2, 0.3], [0.0, 0.2, -0.1, 0.4, 0.3, 0.0, 0.5]])
@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_signed_rank_p_is_the_exact_count_of_sign_patterns(d: list[float], alternative: str) -> None:
    assert signed_rank_p(d, alternative) == pytest.approx(brute_force_p(d, alternative))


def test_signed_rank_p_matches_scipy_exact_without_ties() -> None:
    d = [0.31, -0.12, 0.45, 0.27, 0.08, -0.02, 0.5, 0.19]
    expected = stats.wilcoxon(d, alternative="greater", method="exact").pvalue
    assert signed_rank_p(d, "greater") == pytest.approx(expected)


def test_all_positive_gives_the_smallest_p_and_five_rounds_are_the_least_for_5_percent() -> None:
    assert signed_rank_p([1, 2, 3, 4, 5], "greater") == pytest.approx(1 / 32)
    assert signed_rank_p([1, 2, 3, 4], "greater") == pytest.approx(1 / 16)
    assert min_rounds_for_alpha(0.05) == 5
    assert min_rounds_for_alpha(0.01) == 7


def test_a_clear_slowdown_of_rps_is_a_regression() -> None:
    base = [1000, 1010, 990, 1005, 995, 1000, 1002, 998]
    head = [b * 0.88 * (1 + 0.005 * (-1) ** i) for i, b in enumerate(base)]
    change = paired_change(base, head, direction="higher", threshold_pct=5, alpha=0.05, label=LABEL)
    assert change.verdict == "regression"
    assert change.p_value == pytest.approx(1 / 256)
    assert change.ratio == pytest.approx(0.88, abs=0.01)
    assert change.ci_high < 0.95
    assert change.ci_coverage == pytest.approx(1 - 2 * 9 / 256)  # [x(2), x(7)] of 8


def test_the_same_slowdown_in_cpu_per_request_is_a_regression_the_other_way() -> None:
    base = [100.0, 101, 99, 100, 102, 98, 100, 101]
    head = [b * 1.12 for b in base]
    for direction, verdict in (("lower", "regression"), ("higher", "improvement")):
        change = paired_change(base, head, direction=direction, threshold_pct=5, alpha=0.05, label=LABEL)
        assert change.verdict == verdict


def test_a_consistent_change_below_the_threshold_is_no_change() -> None:
    base = [1000.0] * 8
    head = [970.0 + i for i in range(8)]  # every round 2-3% slower: significant, but under 5%
    change = paired_change(base, head, direction="higher", threshold_pct=5, alpha=0.05, label=LABEL)
    assert change.p_value < 0.05
    assert change.verdict == "no change"


def test_a_large_but_inconsistent_change_is_no_change() -> None:
    base = [1000.0] * 8
    head = [800, 1100, 850, 1150, 820, 1080, 900, 1200]  # median ratio ~0.99, half faster half slower
    change = paired_change(base, head, direction="higher", threshold_pct=5, alpha=0.05, label=LABEL)
    assert change.verdict == "no change"
    assert change.p_value > 0.05


def test_too_few_rounds_are_said_and_never_a_regression() -> None:
    change = paired_change([100.0] * 4, [50.0] * 4, direction="higher", threshold_pct=5, alpha=0.05, label=LABEL)
    assert change.verdict == "too few rounds"
    assert change.min_detectable_pct is None


def test_min_detectable_change_clears_the_threshold_by_the_intervals_noise_and_shrinks_with_rounds() -> None:
    rng = np.random.default_rng(1)
    logs = rng.normal(0, 0.03, 10)
    spread = stats.median_abs_deviation(logs, scale="normal")
    # With a threshold of 50% the interval's condition alone binds (the signed-rank test is then sure):
    # 10 rounds, interval [x(2), x(9)] of coverage 1 − 2 · 11/1024 (x(3) would cover 89.1% < 90%), each
    # end one-sided at 11/1024; the noncentral t on 9 degrees of freedom, the median's se s / √10 / √(2/π).
    critical = stats.t.ppf(1 - 11 / 1024, 9)
    noncentrality = optimize.brentq(lambda nc: stats.nct.sf(critical, 9, nc) - 0.8, 0, 20)
    rise = math.log(1.5) + noncentrality * spread / math.sqrt(10) / math.sqrt(2 / math.pi)
    assert min_detectable_pct(logs, 0.05, 50.0, "lower") == pytest.approx(100 * math.expm1(rise), abs=0.01)
    fall = -math.log(0.5) + noncentrality * spread / math.sqrt(10) / math.sqrt(2 / math.pi)
    assert min_detectable_pct(logs, 0.05, 50.0, "higher") == pytest.approx(100 * -math.expm1(-fall), abs=0.01)
    for threshold in (0.0, 3.0):
        more_rounds = min_detectable_pct(np.tile(logs, 4), 0.05, threshold, "lower")
        assert more_rounds < min_detectable_pct(logs, 0.05, threshold, "lower")
        assert min_detectable_pct(logs, 0.05, threshold, "lower") > threshold
    assert min_detectable_pct(logs[:4], 0.05, 3.0, "lower") is None
    assert min_detectable_pct(logs, 0.05, 100.0, "higher") is None  # no fall of 100% or more can clear it


def test_bad_inputs_raise_value_error() -> None:
    with pytest.raises(ValueError, match="per round"):
        paired_change([1.0, 2.0], [1.0], direction="higher", threshold_pct=5, alpha=0.05, label=LABEL)
    with pytest.raises(ValueError, match="positive base"):
        paired_change([0.0] * 6, [1.0] * 6, direction="higher", threshold_pct=5, alpha=0.05, label=LABEL)
