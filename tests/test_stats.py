"""harness.stats on constructed data with known answers (fast, no servers)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from harness.stats import (
    NOISY_CV,
    Comparison,
    Estimate,
    compare_samples,
    estimate,
    knee_point,
    linear_slope,
    max_under_slo,
    min_trials_for_alpha,
    ratio_estimate,
    usl_fit,
)

DOUBLING = [1.0, 2, 4, 8, 16, 32, 64, 128, 256]


def _usl_curve(n: np.ndarray, lambda_: float, sigma: float, kappa: float) -> np.ndarray:
    return lambda_ * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


# --- estimate ---------------------------------------------------------------------------------------

def test_estimate_of_constant_data_has_a_zero_width_ci_and_zero_cv() -> None:
    assert estimate([7.0, 7.0, 7.0, 7.0]) == Estimate(n=4, median=7.0, ci_low=7.0, ci_high=7.0, cv=0.0,
                                                 ci_coverage=0.875)


def test_estimate_has_no_ci_below_three_values_and_no_cv_below_two() -> None:
    assert estimate([3.0]) == Estimate(n=1, median=3.0, ci_low=None, ci_high=None, cv=None)
    two = estimate([1.0, 3.0])
    assert (two.median, two.ci_low, two.ci_high) == (2.0, None, None)
    assert two.cv == pytest.approx(math.sqrt(2) / 2)


def test_estimate_cv_is_none_when_the_mean_is_zero() -> None:
    assert estimate([-1.0, 1.0, 0.0]).cv is None


def test_estimate_ci_contains_the_median_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(42)
    widths = []
    for n in (5, 20, 200):
        values = rng.normal(1000.0, 50.0, n)
        est = estimate(values)
        assert est.n == n
        assert est.median == pytest.approx(float(np.median(values)))
        assert est.ci_low is not None and est.ci_high is not None
        assert est.ci_low < est.median < est.ci_high
        widths.append(est.ci_high - est.ci_low)
    assert widths[0] > widths[1] > widths[2]


def test_estimate_and_the_bootstrap_give_the_same_figures_whatever_ran_before() -> None:
    values = [10.0, 12.0, 11.0, 15.0, 9.0, 13.0]
    # estimate is exact: sorted 9 10 11 12 13 15, median 11.5; with 6 values only [x(1), x(6)] reaches 95%
    # (1 − 2/64 = 96.9%); the CV is the sample stdev over the mean: squares sum to 840, values to 70
    cv = math.sqrt((840 - 70**2 / 6) / 5) / (70 / 6)
    assert estimate(values) == Estimate(n=6, median=11.5, ci_low=9.0, ci_high=15.0, cv=pytest.approx(cv),
                                        ci_coverage=62 / 64)
    # the bootstrap resamples from a generator of its own, seeded per call: neither other resampling
    # nor the global generator moves its interval (40 values a side, so that another stream of
    # resamples would move the percentiles: a few values' medians take too few values to show it)
    a, b = _normal(21, 100.0, 10.0, 40), _normal(22, 50.0, 5.0, 40)
    first = ratio_estimate(a, b)
    assert first.ci_low is not None and first.ci_low < first.value < first.ci_high
    ratio_estimate(b, a)
    state = np.random.get_state()
    try:
        np.random.seed(12345)
        np.random.random(1000)
        assert ratio_estimate(a, b) == first
    finally:
        np.random.set_state(state)


def test_estimate_narrower_confidence_gives_a_narrower_ci() -> None:
    values = [10.0, 12.0, 11.0, 15.0, 9.0, 13.0, 10.5, 11.5, 12.5, 14.0]
    wide, narrow = estimate(values, 0.95), estimate(values, 0.5)
    assert narrow.ci_high - narrow.ci_low < wide.ci_high - wide.ci_low


def test_estimate_cv_and_noisy_flag() -> None:
    quiet = estimate([100.0, 101.0, 99.0])  # stdev 1, mean 100
    assert quiet.cv == pytest.approx(0.01)
    assert not quiet.noisy
    loud = estimate([80.0, 100.0, 120.0])  # stdev 20, mean 100
    assert loud.cv == pytest.approx(0.20)
    assert loud.noisy
    at_limit = estimate([100.0 - 100 * NOISY_CV, 100.0, 100.0 + 100 * NOISY_CV])  # cv == NOISY_CV exactly
    assert at_limit.cv == pytest.approx(NOISY_CV)
    assert not Estimate(n=3, median=1.0, ci_low=1.0, ci_high=1.0, cv=NOISY_CV).noisy
    assert not Estimate(n=1, median=1.0, ci_low=None, ci_high=None, cv=None).noisy


def test_estimate_rejects_empty_and_non_finite_values() -> None:
    with pytest.raises(ValueError):
        estimate([])
    with pytest.raises(ValueError):
        estimate([1.0, float("nan"), 2.0])


# --- ratio_estimate ---------------------------------------------------------------------------------

def test_ratio_of_medians_with_ci() -> None:
    rng = np.random.default_rng(7)
    a = rng.normal(2000.0, 20.0, 10)
    b = rng.normal(1000.0, 10.0, 10)
    ratio = ratio_estimate(a, b)
    assert ratio.value == pytest.approx(float(np.median(a) / np.median(b)))
    assert ratio.ci_low is not None and ratio.ci_high is not None
    assert ratio.ci_low < ratio.value < ratio.ci_high
    assert ratio.ci_low > 1.95
    assert ratio.ci_high < 2.05


def test_ratio_without_ci_below_three_values_and_exact_for_constants() -> None:
    r = ratio_estimate([4.0, 6.0], [2.0, 2.0, 2.0])
    assert (r.value, r.ci_low, r.ci_high) == (2.5, None, None)
    c = ratio_estimate([3.0, 3.0, 3.0], [2.0, 2.0, 2.0])
    assert (c.value, c.ci_low, c.ci_high) == (1.5, 1.5, 1.5)
    with pytest.raises(ValueError):
        ratio_estimate([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])


# --- linear slope -----------------------------------------------------------------------------------

def test_slope_of_a_known_line() -> None:
    t = [0.0, 1.0, 2.0, 3.0, 4.0]
    slope, r2 = linear_slope(t, [5.0 + 2.5 * x for x in t])
    assert slope == pytest.approx(2.5)
    assert r2 == pytest.approx(1.0)


def test_slope_r2_drops_with_scatter_and_flat_line_is_exact() -> None:
    t = [0.0, 1.0, 2.0, 3.0]
    slope, r2 = linear_slope(t, [0.0, 2.0, 0.0, 2.0])  # least squares: slope 0.4, r² 0.2
    assert slope == pytest.approx(0.4)
    assert r2 == pytest.approx(0.2)
    assert linear_slope(t, [3.0, 3.0, 3.0, 3.0]) == (0.0, 1.0)
    with pytest.raises(ValueError):
        linear_slope([1.0], [1.0])


# --- Universal Scalability Law ----------------------------------------------------------------------

def test_usl_fit_recovers_known_parameters_exactly_from_clean_data() -> None:
    n = np.array(DOUBLING)
    fit = usl_fit(n, _usl_curve(n, 1000.0, 0.05, 0.0005))
    assert fit is not None
    assert fit.lambda_ == pytest.approx(1000.0, rel=1e-4)
    assert fit.sigma == pytest.approx(0.05, rel=1e-3)
    assert fit.kappa == pytest.approx(0.0005, rel=1e-3)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.n_peak == pytest.approx(math.sqrt(0.95 / 0.0005), rel=1e-3)


def test_usl_fit_recovers_known_parameters_from_noisy_data() -> None:
    n = np.array(DOUBLING)
    noise = np.random.default_rng(3).normal(1.0, 0.02, len(n))  # 2% multiplicative noise
    fit = usl_fit(n, _usl_curve(n, 1000.0, 0.05, 0.0005) * noise)
    assert fit is not None
    assert fit.lambda_ == pytest.approx(1000.0, rel=0.05)
    assert fit.sigma == pytest.approx(0.05, abs=0.01)
    assert fit.kappa == pytest.approx(0.0005, rel=0.1)
    assert fit.r2 > 0.99
    assert 35 < fit.n_peak < 55


def test_usl_linear_scaling_has_no_peak() -> None:
    n = np.array(DOUBLING)
    fit = usl_fit(n, 100.0 * n)
    assert fit is not None
    assert fit.sigma == pytest.approx(0.0, abs=1e-6)
    assert fit.kappa == pytest.approx(0.0, abs=1e-9)
    assert fit.n_peak > 1e4  # inf when κ is exactly 0


def test_usl_fit_needs_three_points() -> None:
    assert usl_fit([1.0, 2.0], [100.0, 190.0]) is None
    assert usl_fit([1.0, 1.0, 2.0], [100.0, 101.0, 190.0]) is None  # only 2 distinct N


# --- knee ---------------------------------------------------------------------------------------------

def test_knee_of_a_sharp_saturating_curve_is_exact() -> None:
    n = np.array(DOUBLING)
    assert knee_point(n, 100.0 * np.minimum(n, 32.0)) == 32.0
    assert knee_point(n, np.minimum(np.log2(n), 3.0)) == 8.0


def test_knee_of_a_smooth_saturating_curve_is_within_one_doubling() -> None:
    n = np.array(DOUBLING)
    smooth = 100.0 * n / (1 + (n / 32.0) ** 4) ** 0.25  # a smooth min(100 N, 3200): true knee at N = 32
    knee = knee_point(n, smooth)
    assert knee is not None
    assert abs(math.log2(knee / 32.0)) <= 1


def test_knee_input_order_does_not_matter() -> None:
    n = np.array(DOUBLING)
    x = 100.0 * np.minimum(n, 16.0)
    assert knee_point(n[::-1], x[::-1]) == 16.0


def test_no_knee_for_a_wiggly_straight_line() -> None:
    # ±2% wiggles make small local maxima in the difference curve; Kneedle's threshold
    # (D_max − S · mean spacing) ignores them
    n = np.array(DOUBLING)
    wiggle = np.array([0.0, 0.1, -0.1, 0.1, -0.1, 0.1, -0.1, 0.1, 0.0])
    assert knee_point(n, np.log2(n) + wiggle) is None


def test_no_knee_for_straight_lines_or_too_few_points() -> None:
    n = np.array(DOUBLING)
    assert knee_point(n, 3.0 * n + 1.0) is None  # straight in N (convex in log2 N)
    assert knee_point(n, 5.0 * np.log2(n) + 2.0) is None  # straight in log2 N
    assert knee_point(n, np.full(len(n), 7.0)) is None
    assert knee_point([1.0, 2.0], [1.0, 2.0]) is None


# --- max under SLO ------------------------------------------------------------------------------------

def test_max_under_slo_all_pass() -> None:
    assert max_under_slo([1, 2, 4, 8], [5, 6, 7, 8], [0, 0, 0, 0], p99_limit_ms=50) == 8.0


def test_max_under_slo_first_fails() -> None:
    assert max_under_slo([1, 2, 4], [60, 10, 10], [0, 0, 0], p99_limit_ms=50) is None
    assert max_under_slo([1, 2, 4], [10, 10, 10], [0.02, 0, 0], p99_limit_ms=50) is None


def test_max_under_slo_chain_breaks_at_first_failure() -> None:
    # step 4 fails p99, step 8 passes again: the answer stays 2
    assert max_under_slo([1, 2, 4, 8], [10, 20, 60, 30], [0, 0, 0, 0], p99_limit_ms=50) == 2.0
    # an error-rate failure breaks the chain the same way
    assert max_under_slo([1, 2, 4, 8], [10, 20, 30, 40], [0, 0.5, 0, 0], p99_limit_ms=50) == 1.0


def test_max_under_slo_limits_are_strict_and_steps_are_sorted() -> None:
    assert max_under_slo([1, 2], [10, 50], [0, 0], p99_limit_ms=50) == 1.0  # p99 == limit fails
    assert max_under_slo([1, 2], [10, 10], [0, 0.01], p99_limit_ms=50, max_error_rate=0.01) == 1.0
    assert max_under_slo([8, 1, 4, 2], [90, 10, 30, 20], [0, 0, 0, 0], p99_limit_ms=50) == 4.0
    assert max_under_slo([1, 2], [10, float("nan")], [0, 0], p99_limit_ms=50) == 1.0


def test_max_under_slo_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        max_under_slo([1, 2], [10], [0, 0], p99_limit_ms=50)


# --- compare_samples ----------------------------------------------------------------------------------

def _normal(seed: int, mean: float, sd: float, n: int = 10) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, sd, n)


def test_rps_drop_of_20_percent_is_a_regression() -> None:
    base, new = _normal(1, 1000.0, 10.0), _normal(2, 800.0, 8.0)
    result = compare_samples(base, new, higher_is_better=True)
    assert result.verdict == "regression"
    assert result.change_pct == pytest.approx((np.median(new) - np.median(base)) / np.median(base) * 100)
    assert -22 < result.change_pct < -18
    assert result.p_value is not None and result.p_value < 0.001
    assert result.ci_low_pct is not None and result.ci_high_pct is not None
    assert result.ci_low_pct < result.change_pct < result.ci_high_pct < 0
    assert 5.0 < result.min_detectable_pct < 6.0  # quiet data: the threshold binds, plus the median's own noise


def test_latency_rise_is_a_regression_when_lower_is_better() -> None:
    base, new = _normal(3, 10.0, 0.2, 8), _normal(4, 12.0, 0.2, 8)
    assert compare_samples(base, new, higher_is_better=False).verdict == "regression"
    assert compare_samples(base, new, higher_is_better=True).verdict == "improvement"


def test_improvements_in_both_directions() -> None:
    assert compare_samples(_normal(5, 1000.0, 10.0), _normal(6, 1200.0, 10.0), higher_is_better=True).verdict \
        == "improvement"
    assert compare_samples(_normal(7, 20.0, 0.3), _normal(8, 15.0, 0.3), higher_is_better=False).verdict \
        == "improvement"


@pytest.mark.parametrize("seed", [100, 101, 102])
def test_noise_only_is_no_change(seed: int) -> None:
    rng = np.random.default_rng(seed)
    base, new = rng.normal(1000.0, 30.0, 10), rng.normal(1000.0, 30.0, 10)  # one distribution
    result = compare_samples(base, new, higher_is_better=True)
    assert result.verdict == "no change"
    assert result.p_value is not None and result.p_value > 0.05
    assert result.ci_low_pct is not None and result.ci_high_pct is not None
    assert result.ci_low_pct < 0 < result.ci_high_pct


def test_significant_change_below_threshold_is_no_change() -> None:
    base, new = _normal(9, 1000.0, 3.0), _normal(10, 1030.0, 3.0)  # +3%, tiny noise
    result = compare_samples(base, new, higher_is_better=True)
    assert result.p_value is not None and result.p_value < 0.001
    assert 2 < result.change_pct < 4
    assert result.verdict == "no change"
    assert compare_samples(base, new, higher_is_better=True, threshold_pct=2.0).verdict == "improvement"


def test_large_change_without_significance_is_no_change() -> None:
    base = [80.0, 90.0, 100.0, 110.0, 120.0]
    new = [70.0, 85.0, 92.0, 100.0, 115.0]  # median -8%, but the samples overlap heavily
    result = compare_samples(base, new, higher_is_better=True)
    assert result.change_pct == pytest.approx(-8.0)
    assert result.p_value is not None and result.p_value > 0.05
    assert result.verdict == "no change"


def test_too_few_trials() -> None:
    two = compare_samples([999.0, 1001.0], [499.0, 501.0], higher_is_better=True)
    assert two == Comparison(change_pct=-50.0, ci_low_pct=None, ci_high_pct=None,
                             p_value=pytest.approx(1 / 3), verdict="too few trials", min_detectable_pct=None)
    # 2 vs 10 separated samples reach p = 4/132 < 0.05, but two trials are still too few
    lopsided = compare_samples([999.0, 1001.0], [float(v) for v in range(500, 510)], higher_is_better=True)
    assert lopsided.p_value is not None and lopsided.p_value < 0.05
    assert lopsided.verdict == "too few trials"
    one = compare_samples([1000.0], [500.0, 501.0, 502.0], higher_is_better=True)
    assert one.verdict == "too few trials"
    assert one.p_value is None


def test_three_against_three_cannot_reach_alpha_but_three_against_five_can() -> None:
    base = [100.0, 101.0, 102.0]
    three = compare_samples(base, [80.0, 81.0, 82.0], higher_is_better=True)
    assert three.p_value == pytest.approx(0.1)  # the smallest p 3 vs 3 can give
    assert three.verdict == "too few trials"
    assert three.ci_low_pct is not None  # a CI is still reported from 3 values a side
    five = compare_samples(base, [78.0, 79.0, 80.0, 81.0, 82.0], higher_is_better=True)
    assert five.p_value == pytest.approx(2 / 56)
    assert five.verdict == "regression"


def test_min_detectable_uses_t_quantiles_and_clears_the_threshold() -> None:
    quiet = [98.0, 99.0, 100.0, 101.0, 102.0]  # median 100, MAD 1: robust spread 1.4826%
    noisy = [80.0, 90.0, 100.0, 110.0, 120.0]  # median 100, MAD 10: robust spread 14.826%
    se = math.sqrt(1 / 5 + 1 / 5)  # of a difference of 5 vs 5, per unit of spread
    # Noisy: the test binds. A two-sample t test with 5 a side has 80% power at two-sided 0.05 for a
    # noncentrality of 3.2009 (Cohen's d = 2.024), not the normal formula's 1.960 + 0.842 = 2.802.
    mann_whitney_se = 14.826 * se * math.sqrt(math.pi / 3)
    noisy_result = compare_samples(noisy, noisy, higher_is_better=True).min_detectable_pct
    assert noisy_result == pytest.approx(3.2009 * mann_whitney_se, rel=0.02)  # the median's condition: ~1.4% more
    assert noisy_result > 1.14 * 2.802 * mann_whitney_se
    # Quiet: the threshold binds. The median change clears 5% half the time when the true change is 5%,
    # 80% of the time at 5% + z(0.8) · se of the median (efficiency 2/π against the mean).
    quiet_result = compare_samples(quiet, quiet, higher_is_better=True).min_detectable_pct
    assert quiet_result == pytest.approx(5.0 + 0.8416 * 1.4826 * se * math.sqrt(math.pi / 2), rel=1e-3)


def test_compare_samples_rejects_a_zero_base_median() -> None:
    with pytest.raises(ValueError):
        compare_samples([0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], higher_is_better=True)


# --- min_trials_for_alpha -----------------------------------------------------------------------------

def test_min_trials_for_alpha() -> None:
    assert min_trials_for_alpha(0.05) == 4
    assert min_trials_for_alpha() == 4
    assert min_trials_for_alpha(0.01) == 5
    assert min_trials_for_alpha(0.2) == 3
    assert min_trials_for_alpha(0.1) == 4  # 3 vs 3 gives p = 0.1 at best, which is not < 0.1
    assert min_trials_for_alpha(0.1001) == 3


@pytest.mark.parametrize("alpha", [0.2, 0.1, 0.05, 0.01])
def test_min_trials_agrees_with_scipy_exact_test(alpha: float) -> None:
    n = min_trials_for_alpha(alpha)

    def smallest_p(k: int) -> float:  # fully separated samples give the exact test's smallest p
        return float(stats.mannwhitneyu(range(k), range(k, 2 * k), method="exact").pvalue)

    assert smallest_p(n) < alpha <= smallest_p(n - 1)


def test_slo_crossing_without_a_crossing_in_the_sweep():
    from harness.stats import slo_crossing

    assert slo_crossing([16, 64, 256], [120, 150, 190], [0, 0, 0], 100) is None  # lowest step fails
    assert slo_crossing([16, 64, 256], [10, 50, 60], [0, 0, 0.5], 100) is None  # failed on errors


# ---- slo_crossing: the saturated closed-loop model, and crossings above the top step (issue 10) -----

QUICK_STEPS = [8, 64, 512]


def test_slo_crossing_is_exact_when_p99_grows_in_proportion_to_users():
    """Past saturation a closed loop's response time is N/X (Z = 0): p99 = c·N. True crossings 150
    and 100 users (ratio 1.5) must come out as such from quick's steps, not 95.4 and 75.6 (log2)."""
    from harness.stats import slo_crossing

    slow = slo_crossing(QUICK_STEPS, [n / 1.5 for n in QUICK_STEPS], [0, 0, 0], 100)
    fast = slo_crossing(QUICK_STEPS, [float(n) for n in QUICK_STEPS], [0, 0, 0], 100)
    assert slow is not None and fast is not None and not slow.censored and not fast.censored
    assert slow.users == pytest.approx(150, rel=1e-6)
    assert fast.users == pytest.approx(100, rel=1e-6)
    assert slow.users / fast.users == pytest.approx(1.5, rel=1e-6)


def test_slo_crossing_is_exact_when_p99_is_flat_then_linear():
    """p99 = max(60 ms, N/1.5): flat until saturation at 90 users, then on the asymptote through the
    origin. The last passing step (64) is still flat, so a chord from it would say 127.7."""
    from harness.stats import slo_crossing

    p99 = [max(60.0, n / 1.5) for n in QUICK_STEPS]
    crossing = slo_crossing(QUICK_STEPS, p99, [0, 0, 0], 100)
    assert crossing is not None and crossing.users == pytest.approx(150, rel=1e-6)
    # the same curve on the full profile's doubling steps: the crossing between 128 and 256
    full = [8, 16, 32, 64, 128, 256, 512, 1024]
    crossing = slo_crossing(full, [max(60.0, n / 1.5) for n in full], [0] * len(full), 100)
    assert crossing is not None and crossing.users == pytest.approx(150, rel=1e-6)


def test_slo_crossing_stays_between_its_steps_when_p99_grows_faster_than_users():
    """Past a throughput peak p99 can grow faster than N; the asymptote through the failing step would
    then cross below the step that passed, so the chord (linear in users) is used."""
    from harness.stats import slo_crossing

    crossing = slo_crossing([64, 512], [90, 2000], [0, 0], 100)
    assert crossing is not None
    assert crossing.users == pytest.approx(64 + 10 / 1910 * 448)
    assert 64 < crossing.users < 512


def test_slo_crossing_above_the_top_step_is_censored_at_the_top_step():
    from harness.stats import slo_crossing

    crossing = slo_crossing([16, 64, 256], [10, 50, 90], [0, 0, 0], 100)
    assert crossing is not None and crossing.censored and crossing.users == 256


# === a-compare (issue 10 items 1 and 6, issue 12): zero trials, Mann-Whitney with ties, median CI ======
# (a separate block: other helpers append their own tests after or before it)

def test_compare_samples_with_zero_trials_in_the_base_does_not_crash() -> None:
    # error_rate per trial: a base whose median is not 0 but that has zero trials
    result = compare_samples([0.0, 0.01, 0.02, 0.01, 0.015], [0.05, 0.06, 0.04, 0.05, 0.055], higher_is_better=False)
    assert result.verdict == "regression" and result.change_pct == pytest.approx(400.0)
    assert result.ci_low_pct is None and result.ci_high_pct is None  # a resample's median could be 0
    assert result.note is not None and "1 of 5 base trials are 0" in result.note


def test_compare_samples_of_the_issue_runs_backwards_without_crashing() -> None:
    # harness.compare tests a zero-median base backwards: new [0, 0.03, 0.04] becomes the base sample
    result = compare_samples([0.0, 0.03, 0.04], [0.0, 0.0, 0.01], higher_is_better=False)
    assert result.verdict == "too few trials" and result.ci_low_pct is None
    assert result.p_value is not None and 0 < result.p_value <= 1


def test_mann_whitney_with_ties_is_not_below_the_exact_minimum() -> None:
    result = compare_samples([8.0] * 4, [16.0] * 4, higher_is_better=True)
    assert result.p_value is not None and result.p_value >= 2 / 70
    assert result.p_value == pytest.approx(2 / 70)  # all 70 splits enumerated: 1 as extreme in each tail
    assert result.verdict == "improvement"  # 0.0286 < 0.05: four trials a side can still flag it
    three = compare_samples([8.0] * 3, [16.0] * 3, higher_is_better=True)
    assert three.p_value == pytest.approx(0.1) and three.verdict == "too few trials"
    same = compare_samples([5.0] * 5, [5.0] * 5, higher_is_better=True)
    assert same.p_value == 1.0 and same.verdict == "no change"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_mann_whitney_p_equals_scipy_permutation_test_with_ties(seed: int) -> None:
    from harness.stats import mann_whitney_p

    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(10, 2, 5))  # rounded: ties within and across the samples
    y = np.round(rng.normal(12, 2, 6))
    method = stats.PermutationMethod(n_resamples=np.inf)  # every split: scipy's exact permutation test
    expected = float(stats.mannwhitneyu(x, y, method=method).pvalue)
    assert mann_whitney_p(x, y) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_mann_whitney_p_equals_scipy_exact_test_without_ties(seed: int) -> None:
    from harness.stats import mann_whitney_p

    rng = np.random.default_rng(seed)
    x, y = rng.normal(0, 1, 7), rng.normal(0.8, 1, 9)
    assert mann_whitney_p(x, y) == pytest.approx(float(stats.mannwhitneyu(x, y, method="exact").pvalue), rel=1e-9)
    assert mann_whitney_p(x, y) == pytest.approx(mann_whitney_p(y, x), rel=1e-12)  # symmetric


@pytest.mark.parametrize("alpha", [0.2, 0.1, 0.05, 0.01])
def test_min_trials_stays_consistent_with_tied_samples(alpha: float) -> None:
    from harness.stats import mann_whitney_p

    n = min_trials_for_alpha(alpha)

    def smallest_p(k: int) -> float:  # separated samples of identical values: the most tied case
        return mann_whitney_p([8.0] * k, [16.0] * k)

    assert smallest_p(n) < alpha <= smallest_p(n - 1)


def test_mann_whitney_p_never_goes_below_the_exact_minimum_with_ties() -> None:
    from harness.stats import mann_whitney_p

    rng = np.random.default_rng(5)
    for _ in range(50):
        n1, n2 = int(rng.integers(2, 7)), int(rng.integers(2, 7))
        x, y = rng.integers(0, 3, n1).astype(float), rng.integers(2, 5, n2).astype(float)
        assert mann_whitney_p(x, y) >= 2 / math.comb(n1 + n2, n1) - 1e-12


def test_mann_whitney_p_for_large_samples_is_close_to_the_normal_approximation() -> None:
    from harness.stats import mann_whitney_p

    rng = np.random.default_rng(6)
    x, y = np.round(rng.normal(10, 3, 40)), np.round(rng.normal(11, 3, 45))  # exact: C(85, 40) splits
    assert mann_whitney_p(x, y) == pytest.approx(float(stats.mannwhitneyu(x, y, use_continuity=True).pvalue),
                                                 abs=0.01)
    big = mann_whitney_p(np.arange(300.0), np.arange(300.0) + 30)  # beyond the exact limit: asymptotic
    assert big == pytest.approx(float(stats.mannwhitneyu(np.arange(300.0), np.arange(300.0) + 30).pvalue))


# --- exact order-statistic CI of the median (issue 12; not yet used by estimate) --------------------

@pytest.mark.parametrize(("n", "rank", "coverage"), [
    (1, 1, 0.0), (2, 1, 0.5), (3, 1, 0.75), (4, 1, 0.875), (5, 1, 0.9375), (6, 1, 0.96875),
    (8, 1, 1 - 2 / 256), (10, 2, 1 - 2 * 11 / 1024), (20, 6, 1 - 2 * stats.binom.cdf(5, 20, 0.5)),
])  # fmt: skip
def test_median_order_ci_coverage_and_ranks(n: int, rank: int, coverage: float) -> None:
    from harness.stats import median_order_ci

    values = [float(v) for v in np.random.default_rng(n).permutation(np.arange(1, n + 1))]  # unsorted 1..n
    ci = median_order_ci(values, confidence=0.95)
    assert (ci.rank_low, ci.rank_high) == (rank, n + 1 - rank)
    assert (ci.low, ci.high) == (float(rank), float(n + 1 - rank))  # x(k) of 1..n is k
    assert ci.coverage == pytest.approx(coverage, abs=1e-12)
    assert ci.n == n and ci.reaches_confidence == (coverage >= 0.95)


def test_median_order_ci_is_the_narrowest_that_reaches_the_confidence() -> None:
    from harness.stats import median_order_ci

    values = list(range(1, 21))
    for confidence in (0.5, 0.8, 0.9, 0.95, 0.99):
        ci = median_order_ci(values, confidence)
        assert ci.coverage >= confidence and ci.reaches_confidence
        if ci.rank_low < 10:  # one rank narrower would fall short
            narrower = 1 - 2 * stats.binom.cdf(ci.rank_low, 20, 0.5)
            assert narrower < confidence
    assert median_order_ci(values, 0.99).rank_low < median_order_ci(values, 0.8).rank_low


def test_median_order_ci_rejects_bad_input() -> None:
    from harness.stats import median_order_ci

    with pytest.raises(ValueError):
        median_order_ci([], 0.95)
    with pytest.raises(ValueError):
        median_order_ci([1.0, math.nan], 0.95)
    with pytest.raises(ValueError):
        median_order_ci([1.0, 2.0], 1.0)


@pytest.mark.parametrize("n", [3, 5, 10, 15])
def test_median_order_ci_covers_the_true_median_as_often_as_it_says(n: int) -> None:
    from harness.stats import median_order_ci

    rng = np.random.default_rng(2026)
    true_median = math.log(2)  # of a unit exponential: skewed, as latencies are
    draws = 4000
    covered = 0
    for _ in range(draws):
        ci = median_order_ci(rng.exponential(1.0, n), 0.95)
        covered += ci.low <= true_median <= ci.high
    expected = median_order_ci(range(n), 0.95).coverage
    standard_error = math.sqrt(expected * (1 - expected) / draws)
    assert abs(covered / draws - expected) < 4 * standard_error
