"""Honest intervals (issue 12): every CI of a median carries its real coverage, checked by Monte Carlo
on a fixed seed; ratios between targets come from paired rounds."""

import numpy as np
import pytest

from harness.stats import coverage_label, estimate, paired_ratio_estimate

TRUE_MEDIAN = 0.0  # of the standard normal and of the skewed shifted lognormal below


def _coverage(n: int, draw, repeats: int = 4000) -> tuple[float, float]:
    """(share of intervals holding the true median, mean stated coverage) over many samples of n."""
    rng = np.random.default_rng(12)
    hits, stated = 0, []
    for _ in range(repeats):
        est = estimate(draw(rng, n))
        hits += est.ci_low <= TRUE_MEDIAN <= est.ci_high
        stated.append(est.ci_coverage)
    return hits / repeats, float(np.mean(stated))


@pytest.mark.parametrize("n", [3, 5, 6, 9])
@pytest.mark.parametrize("draw", [lambda rng, n: rng.normal(size=n),
                                  lambda rng, n: rng.lognormal(size=n) - 1.0])  # median of lognormal(0,1) is 1
def test_stated_coverage_is_the_real_one(n, draw):
    real, stated = _coverage(n, draw)
    # 4000 Bernoulli draws: a standard error under 0.8 points; 3 points is a 4-sigma band
    assert abs(real - stated) < 0.03, (n, real, stated)


def test_three_trials_are_not_labelled_95_percent():
    est = estimate([9_833.0, 10_003.0, 9_900.0])
    assert (est.ci_low, est.ci_high) == (9_833.0, 10_003.0)
    assert est.ci_coverage == pytest.approx(0.75)
    assert coverage_label(est.ci_coverage) == "75% CI"


def test_coverage_labels_never_round_onto_a_conventional_level():
    assert coverage_label(0.9375) == "94% CI"
    assert coverage_label(0.949) == "94% CI"
    assert coverage_label(0.96875) == "97% CI"
    assert coverage_label(None) == "CI"


def test_fewer_than_three_values_have_no_interval():
    est = estimate([1.0, 2.0])
    assert est.ci_low is None and est.ci_coverage is None


def test_paired_ratio_is_the_median_of_round_ratios():
    # round 2 was a slow minute for both targets: the per-round ratio is unmoved by it
    express, fastapi = [200.0, 100.0, 210.0, 190.0, 205.0], [100.0, 50.0, 100.0, 95.0, 100.0]
    ratio = paired_ratio_estimate(express, fastapi)
    assert ratio.value == pytest.approx(2.0)
    assert ratio.rounds == 5
    assert (ratio.ci_low, ratio.ci_high) == pytest.approx((2.0, 2.1))
    assert ratio.ci_coverage == pytest.approx(0.9375)


def test_pairing_cancels_a_shared_slow_round_that_widens_the_unpaired_interval():
    rng = np.random.default_rng(3)
    slow = rng.uniform(0.5, 1.0, size=7)  # each round's share of the machine, common to both targets
    a, b = 2.0 * slow * rng.uniform(0.99, 1.01, 7), slow * rng.uniform(0.99, 1.01, 7)
    paired = paired_ratio_estimate(a, b)
    assert paired.ci_high - paired.ci_low < 0.1
    assert paired.ci_low <= 2.0 <= paired.ci_high


def test_paired_ratio_coverage_is_real():
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(3000):
        shared = rng.uniform(0.5, 1.0, size=5)
        ratio = paired_ratio_estimate(1.5 * shared * rng.lognormal(0, 0.05, 5), shared * rng.lognormal(0, 0.05, 5))
        hits += ratio.ci_low <= 1.5 <= ratio.ci_high  # the median round ratio is 1.5 (symmetric log noise)
    assert abs(hits / 3000 - 0.9375) < 0.03


@pytest.mark.parametrize("a, b", [([1.0, 2.0], [1.0]), ([], []), ([1.0], [0.0])])
def test_paired_ratio_rejects_bad_rounds(a, b):
    with pytest.raises(ValueError):
        paired_ratio_estimate(a, b)


def test_paired_ratio_of_two_rounds_has_no_interval():
    ratio = paired_ratio_estimate([2.0, 4.0], [1.0, 1.0])
    assert ratio.value == 3.0 and ratio.ci_low is None and ratio.ci_coverage is None
